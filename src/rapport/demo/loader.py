"""Filling a tenant with demo data, a batch of customers per transaction."""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from rapport.customers.models import Customer, CustomerAddress, CustomerTag, Note, Tag
from rapport.customers.services import TagService
from rapport.demo.businesses import BUSINESSES, Business, default_business
from rapport.demo.generator import (
    ADDRESS_FIELDS,
    CUSTOMER_FIELDS,
    CUSTOMER_TAG_FIELDS,
    EVENT_FIELDS,
    NOTE_FIELDS,
    DemoGenerator,
    TagChoice,
)
from rapport.demo.locales import locale_for
from rapport.demo.writers import TableWriter
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant
from rapport.timeline.models import TimelineEvent

DEFAULT_BATCH_SIZE = 5_000
FIRST, LAST, REFERRED_BY = (
    CUSTOMER_FIELDS.index(name) for name in ("first_name", "last_name", "referred_by_id")
)


@dataclass
class DemoSummary:
    """What a demo run wrote, and how long it took."""

    tenant: str
    business: str
    seed: int
    customers: int = 0
    phone_only: int = 0
    referred: int = 0
    tags_created: int = 0
    tags_used: int = 0
    customer_tags: int = 0
    notes: int = 0
    addresses: int = 0
    events: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.customers + self.customer_tags + self.notes + self.addresses + self.events


def resolve_business(tenant: Tenant, business: str | None) -> Business:
    """The named kind of business, or the one that suits the tenant's country."""
    return BUSINESSES[business or default_business(tenant.country)]


def ensure_tags(tenant: Tenant, business: Business) -> tuple[list[TagChoice], int]:
    """The business's tags, created through TagService when the tenant lacks them."""
    actor = Actor.for_system(tenant, "demo")
    existing = {tag.name.lower(): tag for tag in Tag.objects.filter(tenant=tenant)}
    choices, created = [], 0
    for spec in business.tags:
        tag = existing.get(spec.name.lower())
        if tag is None:
            tag = TagService.create_tag(
                actor=actor, name=spec.name, color=spec.color, description=spec.description
            )
            created += 1
        if tag.is_active:
            choices.append(TagChoice(tag.pk, tag.name, spec.share, spec.customer_type))
    return choices, created


def _reserve_customer_ids(count: int) -> list[int]:
    """Primary keys for the next customers, known before insert so referrals can point at them."""
    table = Customer._meta.db_table
    column = Customer._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # Elsewhere (SQLite) the batch's transaction holds the write lock, so MAX is safe.
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({quote(column)}), 0) FROM {quote(table)}")
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def _code_checker(tenant: Tenant, candidates: list[str]) -> Callable[[str], bool]:
    """Whether a code is in use, with the batch's planned codes looked up in one query."""
    planned = set(candidates)
    taken = set(
        Customer.objects.filter(tenant=tenant, code__in=candidates).values_list("code", flat=True)
    )

    def is_taken(code: str) -> bool:
        if code in planned:
            return code in taken
        return Customer.objects.filter(tenant=tenant, code=code).exists()

    return is_taken


def _refresh_statistics(models: list) -> None:
    """Let the query planner see the new rows; stale statistics after a bulk load make it pick
    sequential scans over the indexes the lists are built on."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")


def load_demo(
    *,
    tenant: Tenant,
    customers: int,
    seed: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    business: str | None = None,
    now: dt.datetime | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Add `customers` demo customers (and their tags, notes, addresses, timeline) to a tenant."""
    started = time.perf_counter()
    kind = resolve_business(tenant, business)
    summary = DemoSummary(tenant=tenant.slug, business=kind.key, seed=seed)
    tags, summary.tags_created = ensure_tags(tenant, kind)
    summary.tags_used = len(tags)
    existing = Customer.objects.filter(tenant=tenant).count()
    generator = DemoGenerator(
        seed=seed,
        tenant_id=tenant.pk,
        country=tenant.country,
        currency=tenant.currency,
        locale=locale_for(tenant.country),
        business=kind,
        tags=tags,
        total=customers,
        now=(now or dt.datetime.now(dt.UTC)).replace(microsecond=0),
        first_index=existing,
    )
    writers = [
        ("customers", TableWriter(connection, Customer, CUSTOMER_FIELDS)),
        ("addresses", TableWriter(connection, CustomerAddress, ADDRESS_FIELDS)),
        ("customer_tags", TableWriter(connection, CustomerTag, CUSTOMER_TAG_FIELDS)),
        ("notes", TableWriter(connection, Note, NOTE_FIELDS)),
        ("events", TableWriter(connection, TimelineEvent, EVENT_FIELDS)),
    ]
    done = 0
    while done < customers:
        count = min(batch_size, customers - done)
        with transaction.atomic():
            ids = _reserve_customer_ids(count)
            is_taken = None
            if existing:
                planned = [generator.codes.code(generator.index + i) for i in range(count)]
                is_taken = _code_checker(tenant, planned)
            batch = generator.batch(ids, is_taken)
            for name, writer in writers:
                writer.write(getattr(batch, name))
        done += count
        summary.customers += count
        summary.phone_only += sum(1 for row in batch.customers if not (row[FIRST] or row[LAST]))
        summary.referred += sum(1 for row in batch.customers if row[REFERRED_BY] is not None)
        summary.addresses += len(batch.addresses)
        summary.customer_tags += len(batch.customer_tags)
        summary.notes += len(batch.notes)
        summary.events += len(batch.events)
        if on_batch is not None:
            on_batch(count)
    _refresh_statistics([Customer, CustomerAddress, CustomerTag, Note, TimelineEvent])
    summary.seconds = time.perf_counter() - started
    return summary
