"""Filling a tenant with demo data, a batch of customers per transaction."""

import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.apps import apps as django_apps
from django.db import connection, models, transaction

from rapport.customers.models import Customer, CustomerAddress, CustomerTag, Note, Tag
from rapport.customers.services import TagService
from rapport.demo.businesses import BUSINESSES, Business, default_business
from rapport.demo.generator import (
    ADDRESS_FIELDS,
    CONSENT_CHANGE_FIELDS,
    CONSENT_FIELDS,
    CUSTOMER_FIELDS,
    CUSTOMER_TAG_FIELDS,
    EVENT_FIELDS,
    IDENTIFIER_FIELDS,
    INTERACTION_EVENT_FIELDS,
    INTERACTION_FIELDS,
    NOTE_FIELDS,
    ORDER_FIELDS,
    ORDER_LINE_FIELDS,
    ORDER_REFUND_FIELDS,
    PET_FIELDS,
    PET_OWNER_FIELDS,
    PREFERENCE_FIELDS,
    TOUCHPOINTS,
    VISIT_FIELDS,
    Batch,
    DemoGenerator,
    TagChoice,
)
from rapport.demo.locales import locale_for
from rapport.demo.optional_apps import IDENTIFIER_TYPES, OPTIONAL_APPS, optional_rows
from rapport.demo.writers import TableWriter
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant
from rapport.timeline.models import Interaction, TimelineEvent

DEFAULT_BATCH_SIZE = 5_000
FIRST, LAST, REFERRED_BY = (
    CUSTOMER_FIELDS.index(name) for name in ("first_name", "last_name", "referred_by_id")
)
CONSENT_STATUS = CONSENT_FIELDS.index("status")
ORDER_STATUS = ORDER_FIELDS.index("status")
FOLLOW_UP_REQUIRED, FOLLOW_UP_DONE_AT = (
    INTERACTION_FIELDS.index(name) for name in ("follow_up_required", "follow_up_done_at")
)
# Rows whose first column is a position in their list until the batch gets its keys, and the
# rows (list, column) that point at them: see rapport.demo.generator.
KEYED = (
    ("orders", "order", (("order_lines", 0), ("order_refunds", 1))),
    ("pets", "pet", (("pet_owners", 1),)),
    (
        "interaction_events",
        "event",
        (("interactions", INTERACTION_FIELDS.index("timeline_event_id")),),
    ),
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
    # The optional apps installed, whose rows were written too.
    optional_apps: tuple[str, ...] = ()
    consents: int = 0
    opted_in: int = 0
    consent_changes: int = 0
    identifiers: int = 0
    preferences: int = 0
    interactions: int = 0
    open_follow_ups: int = 0
    orders: int = 0
    cancelled_orders: int = 0
    order_lines: int = 0
    refunds: int = 0
    visits: int = 0
    pets: int = 0
    pet_owners: int = 0
    seconds: float = 0.0

    def add(self, batch: Batch) -> None:
        """Count a batch just written."""
        self.customers += len(batch.customers)
        self.phone_only += sum(1 for row in batch.customers if not (row[FIRST] or row[LAST]))
        self.referred += sum(1 for row in batch.customers if row[REFERRED_BY] is not None)
        self.addresses += len(batch.addresses)
        self.customer_tags += len(batch.customer_tags)
        self.notes += len(batch.notes)
        self.events += len(batch.events) + len(batch.interaction_events)
        self.consents += len(batch.consents)
        self.opted_in += sum(1 for row in batch.consents if row[CONSENT_STATUS] == "opted_in")
        self.consent_changes += len(batch.consent_changes)
        self.identifiers += len(batch.identifiers)
        self.preferences += len(batch.preferences)
        self.interactions += len(batch.interactions)
        self.open_follow_ups += sum(
            1
            for row in batch.interactions
            if row[FOLLOW_UP_REQUIRED] and not row[FOLLOW_UP_DONE_AT]
        )
        self.orders += len(batch.orders)
        self.cancelled_orders += sum(1 for row in batch.orders if row[ORDER_STATUS] == "cancelled")
        self.order_lines += len(batch.order_lines)
        self.refunds += len(batch.order_refunds)
        self.visits += len(batch.visits)
        self.pets += len(batch.pets)
        self.pet_owners += len(batch.pet_owners)

    @property
    def rows(self) -> int:
        return (
            self.customers
            + self.customer_tags
            + self.notes
            + self.addresses
            + self.events
            + self.consents
            + self.consent_changes
            + self.identifiers
            + self.preferences
            + self.interactions
            + self.orders
            + self.order_lines
            + self.refunds
            + self.visits
            + self.pets
            + self.pet_owners
        )

    def activity(self) -> str:
        """The interactions, orders, visits and pets written, as the summary's words: ", 1,234
        interactions (56 follow-ups open), 5,678 orders (…)", or what of it was written."""
        text = f", {self.interactions:,} interactions ({self.open_follow_ups:,} follow-ups open)"
        if "commerce" in self.optional_apps:
            text += (
                f", {self.orders:,} orders ({self.order_lines:,} lines, "
                f"{self.cancelled_orders:,} cancelled, {self.refunds:,} refunds)"
            )
            if self.visits:
                text += f", {self.visits:,} visits"
        if "pets" in self.optional_apps and self.pets:
            text += f", {self.pets:,} pets ({self.pet_owners:,} owners)"
        return text


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
    return _reserve_ids(Customer, count)


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """The next `count` primary keys of a table, taken before its rows are written."""
    table = model._meta.db_table
    column = model._meta.pk.column
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


def _refresh_statistics(tables: list[type[models.Model]]) -> None:
    """Let the query planner see the new rows; stale statistics after a bulk load make it pick
    sequential scans over the indexes the lists are built on."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")


def installed_optional_apps() -> tuple[str, ...]:
    """The optional apps (of OPTIONAL_APPS) installed here, by short name."""
    return tuple(name for name in OPTIONAL_APPS if django_apps.is_installed(f"rapport.{name}"))


def _optional_tables(
    installed: Sequence[str],
) -> list[tuple[str, type[models.Model], Sequence[str]]]:
    """(Batch attribute, model, columns) of the installed optional apps' tables.

    Their models are imported here, only once the app is known to be installed.
    """
    tables: list[tuple[str, type[models.Model], Sequence[str]]] = []
    if "consent" in installed:
        from rapport.consent.models import CommunicationConsent, ConsentChange

        tables.append(("consents", CommunicationConsent, CONSENT_FIELDS))
        tables.append(("consent_changes", ConsentChange, CONSENT_CHANGE_FIELDS))
    if "identity" in installed:
        from rapport.identity.models import CustomerIdentifier

        tables.append(("identifiers", CustomerIdentifier, IDENTIFIER_FIELDS))
    if "preferences" in installed:
        from rapport.preferences.models import CustomerPreference

        tables.append(("preferences", CustomerPreference, PREFERENCE_FIELDS))
    if "commerce" in installed:
        from rapport.commerce.models import Order, OrderLine, OrderRefund, Visit

        tables.append(("orders", Order, ORDER_FIELDS))
        tables.append(("order_lines", OrderLine, ORDER_LINE_FIELDS))
        tables.append(("order_refunds", OrderRefund, ORDER_REFUND_FIELDS))
        tables.append(("visits", Visit, VISIT_FIELDS))
    if "pets" in installed:
        from rapport.pets.models import Pet, PetOwner

        tables.append(("pets", Pet, PET_FIELDS))
        tables.append(("pet_owners", PetOwner, PET_OWNER_FIELDS))
    return tables


def _keyed_models(installed: Sequence[str]) -> dict[str, type[models.Model]]:
    """The model whose primary keys each keyed kind of row takes (see KEYED)."""
    keyed: dict[str, type[models.Model]] = {"event": TimelineEvent}
    if "commerce" in installed:
        from rapport.commerce.models import Order

        keyed["order"] = Order
    if "pets" in installed:
        from rapport.pets.models import Pet

        keyed["pet"] = Pet
    return keyed


def _assign_keys(batch: Batch, keyed: dict[str, type[models.Model]]) -> None:
    """Give the batch's keyed rows their primary keys, and the rows pointing at them the same.

    Done just before the batch is written, in its transaction: on SQLite the keys follow the
    largest one stored, so the rows with keys go in before any row of the table without.
    """
    for name, kind, pointers in KEYED:
        rows = getattr(batch, name)
        if not rows:
            continue
        ids = _reserve_ids(keyed[kind], len(rows))
        setattr(batch, name, [(ids[row[0]], *row[1:]) for row in rows])
        for pointer, column in pointers:
            setattr(
                batch,
                pointer,
                [
                    (*row[:column], ids[row[column]], *row[column + 1 :])
                    for row in getattr(batch, pointer)
                ],
            )


def _numbers_in_use(tenant: Tenant, installed: Sequence[str]) -> dict[str, int]:
    """How many orders the tenant holds per source (visits as "booking"): new ids follow."""
    if "commerce" not in installed:
        return {}
    from django.db.models import Count

    from rapport.commerce.models import Order, Visit

    numbers = dict(
        Order.objects.filter(tenant=tenant)
        .values_list("source")
        .annotate(count=Count("id"))
        .values_list("source", "count")
    )
    numbers["booking"] = Visit.objects.filter(tenant=tenant, source="booking").count()
    return numbers


def _microchips_in_use(tenant: Tenant) -> set[str]:
    from rapport.pets.models import Pet

    return set(
        Pet.objects.filter(tenant=tenant).exclude(microchip="").values_list("microchip", flat=True)
    )


def _identifiers_in_use(tenant: Tenant) -> set[tuple[str, str]]:
    """The (type, value) pairs the demo's identifiers must not take: already someone's."""
    from rapport.identity.models import CustomerIdentifier

    return set(
        CustomerIdentifier.objects.filter(tenant=tenant, type__in=IDENTIFIER_TYPES).values_list(
            "type", "value"
        )
    )


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
    """Add `customers` demo customers (and their tags, notes, addresses, interactions, timeline)
    to a tenant, with their consents, identifiers, preferences, orders and visits, and pets,
    where those apps are installed."""
    started = time.perf_counter()
    kind = resolve_business(tenant, business)
    installed = installed_optional_apps()
    summary = DemoSummary(tenant=tenant.slug, business=kind.key, seed=seed, optional_apps=installed)
    tags, summary.tags_created = ensure_tags(tenant, kind)
    summary.tags_used = len(tags)
    existing = Customer.objects.filter(tenant=tenant).count()
    locale = locale_for(tenant.country)
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    in_use = _identifiers_in_use(tenant) if existing and "identity" in installed else None
    chips = _microchips_in_use(tenant) if existing and "pets" in installed else None
    optional = optional_rows(
        installed,
        seed=seed,
        tenant_id=tenant.pk,
        locale=locale,
        business=kind,
        now=now,
        first_index=existing,
        identifiers_in_use=in_use,
        currency=tenant.currency,
        timezone=tenant.timezone,
        numbers_in_use=_numbers_in_use(tenant, installed) if existing else None,
        microchips_in_use=chips,
    )
    generator = DemoGenerator(
        seed=seed,
        tenant_id=tenant.pk,
        country=tenant.country,
        currency=tenant.currency,
        locale=locale,
        business=kind,
        tags=tags,
        total=customers,
        now=now,
        first_index=existing,
        optional=optional,
        # Where commerce is installed its orders and visits stand for themselves.
        touchpoints=() if "commerce" in installed else TOUCHPOINTS,
    )
    tables: list[tuple[str, type[models.Model], Sequence[str]]] = [
        ("customers", Customer, CUSTOMER_FIELDS),
        ("addresses", CustomerAddress, ADDRESS_FIELDS),
        ("customer_tags", CustomerTag, CUSTOMER_TAG_FIELDS),
        ("notes", Note, NOTE_FIELDS),
        # Before the other events: on SQLite their keys were taken from the largest stored.
        ("interaction_events", TimelineEvent, INTERACTION_EVENT_FIELDS),
        ("events", TimelineEvent, EVENT_FIELDS),
        ("interactions", Interaction, INTERACTION_FIELDS),
        *_optional_tables(installed),
    ]
    keyed = _keyed_models(installed)
    writers = [(name, TableWriter(connection, model, fields)) for name, model, fields in tables]

    def draw(count: int) -> Batch:
        ids = _reserve_customer_ids(count)
        is_taken = None
        if existing:
            planned = [generator.codes.code(generator.index + i) for i in range(count)]
            is_taken = _code_checker(tenant, planned)
        return generator.batch(ids, is_taken)

    # On PostgreSQL, into an empty tenant, the next batch is drawn in a thread while this one is
    # written, so the server works through the COPY as the next rows are made. (There, ids come
    # from the sequence and no code needs checking; on SQLite, ids follow the rows written.)
    ahead = connection.vendor == "postgresql" and not existing
    drawing = ThreadPoolExecutor(max_workers=1) if ahead else None
    following: Future[Batch] | None = None
    done = 0
    try:
        while done < customers:
            count = min(batch_size, customers - done)
            with transaction.atomic():
                batch = following.result() if following is not None else draw(count)
                following = None
                after = min(batch_size, customers - done - count)
                if drawing is not None and after:
                    following = drawing.submit(generator.batch, _reserve_customer_ids(after))
                _assign_keys(batch, keyed)
                for name, writer in writers:
                    writer.write(getattr(batch, name))
            done += count
            summary.add(batch)
            if on_batch is not None:
                on_batch(count)
    finally:
        if drawing is not None:
            drawing.shutdown(cancel_futures=True)
    _refresh_statistics(list(dict.fromkeys(model for _, model, _ in tables)))
    summary.seconds = time.perf_counter() - started
    return summary
