"""`rapport expire_points`: write off the loyalty points that expired, oldest first."""

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rapport.exceptions import RapportError
from rapport.loyalty import conf
from rapport.loyalty.services.expiry import ExpiryRun, accounts_due, expire_points
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant
from rapport.tenancy.services import TenantService

ACTOR_NAME = "cli"


def _moment(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise CommandError(f"--at {text!r} needs its UTC offset, e.g. {text}+00:00")
    return moment


class Command(BaseCommand):
    help = (
        "Expire the loyalty points older than the program's expiry period, oldest first and "
        "never more than a balance. Safe to run again: what expired is not expired twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default=None, help="Tenant slug (default: the default)")
        parser.add_argument(
            "--all-tenants", action="store_true", help="Every tenant, one after the other"
        )
        parser.add_argument(
            "--at", default=None, help="Expire as of this ISO 8601 time (default: now)"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help=f"Accounts per transaction (default {conf.expiry_batch_size()})",
        )

    def handle(self, *args, tenant, all_tenants, at, batch_size, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if tenant and all_tenants:
            raise CommandError("Give --tenant or --all-tenants, not both")
        moment = _moment(at)
        try:
            if all_tenants:
                tenants = list(Tenant.objects.order_by("slug"))
            else:
                tenants = [
                    TenantService.get_by_slug(tenant) if tenant else TenantService.get_default()
                ]
            for one in tenants:
                self._report(one, self._expire(one, moment, batch_size))
        except RapportError as error:
            detail = "; ".join(f"{name}: {problem}" for name, problem in error.fields.items())
            raise CommandError(f"{error.message} ({detail})" if detail else error.message) from None

    def _expire(self, tenant: Tenant, at: dt.datetime | None, batch_size: int | None) -> ExpiryRun:
        actor = Actor.for_system(tenant, ACTOR_NAME)
        if not sys.stderr.isatty():
            return expire_points(tenant=tenant, at=at, actor=actor, batch_size=batch_size)
        total = len(accounts_due(tenant=tenant, at=at))
        progress = Progress(
            TextColumn(f"[bold]expiring points ({tenant.slug})"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        with progress:
            task = progress.add_task("expiry", total=total, rate="")

            def advance(count: int) -> None:
                progress.advance(task, count)
                elapsed = progress.tasks[task].elapsed or 0
                if elapsed:
                    rate = progress.tasks[task].completed / elapsed
                    progress.update(task, rate=f"{rate:,.0f} accounts/s")

            return expire_points(
                tenant=tenant, at=at, actor=actor, batch_size=batch_size, on_batch=advance
            )

    def _report(self, tenant: Tenant, run: ExpiryRun) -> None:
        self.stdout.write(
            f"Expired {run.points:,} point{'s' if run.points != 1 else ''} on "
            f"{run.accounts:,} account{'s' if run.accounts != 1 else ''} of tenant "
            f"{tenant.slug!r}, as of {run.at.isoformat(timespec='seconds')}."
        )
