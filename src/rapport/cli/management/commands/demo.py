"""`rapport demo`: fill a tenant with realistic, reproducible demo customers."""

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

from rapport.customers.models import Customer
from rapport.demo.businesses import BUSINESSES
from rapport.demo.loader import DEFAULT_BATCH_SIZE, DemoSummary, load_demo
from rapport.exceptions import RapportError
from rapport.tenancy.services import TenantService


class Command(BaseCommand):
    help = (
        "Fill a tenant with demo customers, tags, notes, addresses and timeline events, and "
        "their consents, identifiers and preferences where those apps are installed. "
        "The same --seed gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500, help="How many (default 500)")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42)")
        parser.add_argument("--tenant", default=None, help="Tenant slug (default: the default)")
        parser.add_argument(
            "--business",
            choices=sorted(BUSINESSES),
            default=None,
            help="Kind of business (default: by the tenant's country)",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the tenant has customers"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Customers per transaction (default {DEFAULT_BATCH_SIZE})",
        )

    def handle(self, *args, customers, seed, tenant, business, if_empty, batch_size, **options):
        if customers < 1:
            raise CommandError("--customers must be at least 1")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            tenant_obj = (
                TenantService.get_by_slug(tenant) if tenant else TenantService.get_default()
            )
        except RapportError as error:
            raise CommandError(error.message) from None
        if if_empty:
            count = Customer.objects.filter(tenant=tenant_obj).count()
            if count:
                self.stdout.write(
                    f"Tenant {tenant_obj.slug!r} already has {count:,} customers: "
                    "no demo data added."
                )
                return
        if sys.stderr.isatty():
            summary = self._load_with_progress(tenant_obj, customers, seed, batch_size, business)
        else:
            summary = load_demo(
                tenant=tenant_obj,
                customers=customers,
                seed=seed,
                batch_size=batch_size,
                business=business,
            )
        self._report(summary)

    def _load_with_progress(self, tenant, customers, seed, batch_size, business) -> DemoSummary:
        progress = Progress(
            TextColumn("[bold]demo customers"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        with progress:
            task = progress.add_task("demo", total=customers, rate="")

            def advance(count: int) -> None:
                progress.advance(task, count)
                elapsed = progress.tasks[task].elapsed or 0
                if elapsed:
                    rate = progress.tasks[task].completed / elapsed
                    progress.update(task, rate=f"{rate:,.0f}/s")

            return load_demo(
                tenant=tenant,
                customers=customers,
                seed=seed,
                batch_size=batch_size,
                business=business,
                on_batch=advance,
            )

    def _report(self, summary: DemoSummary) -> None:
        rate = summary.customers / summary.seconds if summary.seconds else 0
        optional = summary.activity()
        if "consent" in summary.optional_apps:
            optional += (
                f", {summary.consents:,} consents ({summary.opted_in:,} opted in) "
                f"with {summary.consent_changes:,} changes"
            )
        if "identity" in summary.optional_apps:
            optional += f", {summary.identifiers:,} identifiers"
        if "preferences" in summary.optional_apps:
            optional += f", {summary.preferences:,} preferences"
        self.stdout.write(
            f"Demo data for tenant {summary.tenant!r} ({summary.business}, seed {summary.seed}): "
            f"{summary.customers:,} customers ({summary.phone_only:,} phone-only, "
            f"{summary.referred:,} referred), {summary.tags_used} tags "
            f"({summary.tags_created} new) put on {summary.customer_tags:,} times, "
            f"{summary.notes:,} notes, {summary.addresses:,} addresses, "
            f"{summary.events:,} timeline events{optional}; {summary.rows:,} rows in "
            f"{summary.seconds:.1f} s ({rate:,.0f} customers/s)."
        )
