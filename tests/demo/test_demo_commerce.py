"""`rapport demo` with orders, visits, pets and interactions: consistent, realistic, and what
the services would have written."""

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Sum

from rapport.commerce.models import Order, OrderLine, OrderRefund, Visit
from rapport.commerce.money import format_amount
from rapport.commerce.services import LineInput, OrderInput, OrderService, VisitInput, VisitService
from rapport.customers.models import Customer
from rapport.demo.businesses import BUSINESSES
from rapport.demo.catalogue import ACTIVITIES
from rapport.demo.commerce import CommerceRows
from rapport.demo.generator import DemoGenerator, TagChoice
from rapport.demo.loader import load_demo
from rapport.demo.locales import locale_for
from rapport.demo.optional_apps import optional_rows
from rapport.demo.workplace import OpeningHours
from rapport.events.models import OutboxEvent
from rapport.pets.models import Pet, PetOwner
from rapport.pets.services import PetService
from rapport.tenancy.actors import Actor
from rapport.tenancy.services import TenantService
from rapport.timeline.interactions import InteractionService
from rapport.timeline.models import Interaction, TimelineEvent

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LAGOS = zoneinfo.ZoneInfo("Africa/Lagos")
ENTRY_FIELDS = ("event_type", "title", "description", "channel", "reference", "metadata")
EVERY_APP = ("consent", "identity", "preferences", "commerce", "pets")


def entries(customer, kind: str) -> list[dict]:
    """The customer's timeline entries of one kind, oldest first, as comparable dicts."""
    events = TimelineEvent.objects.filter(customer=customer, metadata__kind=kind)
    return [
        {name: getattr(event, name) for name in ENTRY_FIELDS}
        for event in events.order_by("created_at", "id")
    ]


def without(entry: dict, *keys: str) -> dict:
    """An entry less some metadata keys (the ids each write draws afresh)."""
    metadata = {key: value for key, value in entry["metadata"].items() if key not in keys}
    return {**entry, "metadata": metadata}


def draw(*, customers: int, apps=EVERY_APP, business: str = "retail", seed: int = 31):
    """The rows the demo would write for `customers` customers, with no database."""
    locale, kind = locale_for("NG"), BUSINESSES[business]
    tags = [TagChoice(n, tag.name, tag.share, tag.customer_type) for n, tag in enumerate(kind.tags)]
    optional = optional_rows(
        apps, seed=seed, tenant_id=1, locale=locale, business=kind, now=NOW, currency="NGN",
        timezone="Africa/Lagos",
    )  # fmt: skip
    generator = DemoGenerator(
        seed=seed, tenant_id=1, country="NG", currency="NGN", locale=locale, business=kind,
        tags=tags, total=customers, now=NOW, optional=optional,
        touchpoints=() if "commerce" in apps else ("order", "visit"),
    )  # fmt: skip
    return generator.batch(list(range(1, customers + 1)))


@pytest.fixture
def replay_tenant(db):
    """Where the demo's rows are written again through the services, in the same currency."""
    return TenantService.create_tenant(
        name="Replay", slug="replay", country="NG", currency="NGN", timezone_name="Africa/Lagos"
    )


# --- orders --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("business", ["retail", "cafe"])
def test_orders_add_up_and_their_statuses_follow_their_times(tenant, business):
    load_demo(tenant=tenant, customers=300, seed=3, business=business, now=NOW)

    orders = list(Order.objects.filter(tenant=tenant).select_related("customer"))
    assert len(orders) > 600
    lines = defaultdict(list)
    for line in OrderLine.objects.filter(order__tenant=tenant).order_by("order_id", "position"):
        lines[line.order_id].append(line)
    refunds = defaultdict(list)
    for refund in OrderRefund.objects.filter(order__tenant=tenant).order_by("created_at", "id"):
        refunds[refund.order_id].append(refund)
    hours = OpeningHours(ACTIVITIES[business].habits, "Africa/Lagos")
    for order in orders:
        # Totals are the lines', nothing else; the currency is the tenant's
        assert lines[order.pk], order.external_id
        assert [line.position for line in lines[order.pk]] == list(range(len(lines[order.pk])))
        assert all(line.total_q == line.unit_price_q * line.quantity for line in lines[order.pk])
        assert order.total_q == sum(line.total_q for line in lines[order.pk]) > 0
        assert order.currency == "NGN"
        # Placed after the customer joined, nothing in the future
        assert order.customer.created_at < order.placed_at <= NOW
        assert order.placed_at <= order.created_at <= order.updated_at <= NOW
        if order.channel == "pos":
            assert hours.is_open(order.placed_at.timestamp()), order.placed_at.astimezone(LAGOS)
        # The status and its times agree; refunds never exceed the total
        assert order.refunded_q == sum(refund.amount_q for refund in refunds[order.pk])
        assert order.refunded_q <= order.total_q
        if order.status in ("completed", "partially_refunded", "refunded"):
            assert order.placed_at <= order.completed_at <= order.created_at
            assert order.cancelled_at is None
        elif order.status == "cancelled":
            assert order.completed_at is None
            assert order.cancelled_at == order.created_at
        else:
            assert order.status == "pending"
            assert order.completed_at is order.cancelled_at is None
            assert order.channel != "pos"
            assert order.placed_at > NOW - dt.timedelta(days=2)
        expected = {0: "completed", order.total_q: "refunded"}.get(
            order.refunded_q, "partially_refunded"
        )
        if order.status not in ("pending", "cancelled"):
            assert order.status == expected
        for refund in refunds[order.pk]:
            assert order.completed_at < refund.created_at <= NOW
            assert refund.actor == "system:demo"
            assert refund.reference.startswith("refund:")
        if refunds[order.pk]:
            assert order.updated_at == refunds[order.pk][-1].created_at
    statuses = Counter(order.status for order in orders)
    assert {"completed", "cancelled", "refunded"} <= set(statuses)
    assert statuses["completed"] > 0.9 * len(orders)
    # Each order and each refund has its timeline entry; the demo sends no events
    kinds = Counter(
        TimelineEvent.objects.filter(tenant=tenant, event_type="order").values_list(
            "metadata__kind", flat=True
        )
    )
    assert kinds == {
        "order_created": len(orders),
        "order_refunded": sum(map(len, refunds.values())),
    }
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_purchase_histories_have_a_realistic_spread(tenant):
    load_demo(tenant=tenant, customers=600, seed=4, now=NOW)

    per_customer = dict(
        Order.objects.filter(tenant=tenant)
        .values_list("customer")
        .annotate(count=Count("id"))
        .values_list("customer", "count")
    )
    counts = [per_customer.get(pk, 0) for pk in Customer.objects.values_list("pk", flat=True)]
    buyers = [count for count in counts if count]
    # Many buy once, a few are regulars, the mean is a handful
    assert 0.25 < buyers.count(1) / len(buyers) < 0.55
    assert sum(1 for count in buyers if count >= 15) > 10
    assert 3 < sum(counts) / len(counts) < 10
    # Some stopped buying long ago, many bought lately
    last = Order.objects.filter(tenant=tenant).values("customer").annotate(last=Max("placed_at"))
    recency = [(NOW - row["last"]).days for row in last]
    assert sum(1 for days in recency if days > 180) > 0.2 * len(recency)
    assert sum(1 for days in recency if days < 30) > 0.15 * len(recency)
    # Spend differs from customer to customer
    spend = sorted(
        Order.objects.filter(tenant=tenant, status="completed")
        .values("customer")
        .annotate(total=Sum("total_q"))
        .values_list("total", flat=True)
    )
    assert spend[-len(spend) // 10] > 10 * spend[len(spend) // 10]
    # Orders come in on every channel the shop sells on, each id once per source
    assert set(Order.objects.values_list("channel", "source").distinct()) == {
        ("pos", "pos"),
        ("online", "website"),
        ("marketplace", "jumia"),
    }


@pytest.mark.django_db
def test_a_demo_order_is_what_order_service_writes(tenant, replay_tenant, make_customer):
    # Given demo orders: a refunded one of several lines, and a cancelled one
    load_demo(tenant=tenant, customers=500, seed=5, now=NOW)
    refunded = (
        Order.objects.filter(tenant=tenant, status="partially_refunded")
        .annotate(lines_count=Count("lines"))
        .filter(lines_count__gt=1)
        .first()
    )
    cancelled = Order.objects.filter(tenant=tenant, status="cancelled").first()
    online = Order.objects.filter(tenant=tenant, status="completed", channel="online").first()
    assert refunded and cancelled and online
    actor = Actor.for_system(replay_tenant, "demo")

    for demo in (refunded, cancelled, online):
        # When the same order, and its refunds, go through OrderService
        customer = make_customer(tenant=replay_tenant, first_name="Replay")
        recorded = OrderService.record_order(
            actor=actor,
            order=OrderInput(
                customer=customer,
                external_id=demo.external_id,
                placed_at=demo.placed_at,
                lines=[
                    LineInput(
                        name=line.name, unit_price_q=line.unit_price_q, quantity=line.quantity,
                        sku=line.sku, category=line.category,
                    )
                    for line in demo.lines.order_by("position")
                ],
                currency=demo.currency,
                channel=demo.channel,
                status="completed" if demo.status in ("partially_refunded", "refunded")
                else demo.status,
                source=demo.source,
                completed_at=demo.completed_at,
                metadata=demo.metadata,
            ),
        ).order  # fmt: skip
        for refund in demo.refunds.order_by("created_at", "id"):
            recorded = OrderService.refund(
                actor=actor,
                order=recorded,
                amount_q=refund.amount_q,
                reason=refund.reason,
                reference=refund.reference,
            ).order

        # Then the order, its lines and refunds, and its timeline are the demo's
        fields = (
            "source", "external_id", "channel", "status", "placed_at", "completed_at",
            "total_q", "refunded_q", "currency", "metadata",
        )  # fmt: skip
        assert [getattr(recorded, name) for name in fields] == [
            getattr(demo, name) for name in fields
        ]
        assert (recorded.cancelled_at is None) == (demo.cancelled_at is None)
        line_fields = ("position", "sku", "name", "category", "quantity", "unit_price_q", "total_q")
        assert list(recorded.lines.order_by("position").values_list(*line_fields)) == list(
            demo.lines.order_by("position").values_list(*line_fields)
        )
        refund_fields = ("amount_q", "reason", "reference", "actor")
        assert list(recorded.refunds.values_list(*refund_fields)) == list(
            demo.refunds.values_list(*refund_fields)
        )
        ids = ("order", "refund", "cancelled_at")
        ours = entries(customer, "order_created") + entries(customer, "order_refunded")
        theirs = [
            entry
            for entry in entries(demo.customer, "order_created")
            + entries(demo.customer, "order_refunded")
            if entry["metadata"]["external_id"] == demo.external_id
        ]
        assert [without(entry, *ids) for entry in ours] == [
            without(entry, *ids) for entry in theirs
        ]
        assert theirs[0]["metadata"]["order"] == str(demo.uuid)


def test_amounts_read_as_format_amount_writes_them():
    rows = CommerceRows.__new__(CommerceRows)
    for currency, places in (("NGN", 2), ("JPY", 0), ("KWD", 3)):
        rows.currency, rows.places = currency, places
        for amount in (0, 5, 99, 100, 123_456, 10**12 + 7):
            assert rows.amount(amount) == format_amount(amount, currency)


# --- visits and pets -----------------------------------------------------------------------


@pytest.mark.django_db
def test_clinic_visits_name_the_owners_pets_and_keep_their_times(tenant):
    load_demo(tenant=tenant, customers=300, seed=6, business="clinic", now=NOW)

    visits = list(Visit.objects.filter(tenant=tenant))
    statuses = Counter(visit.status for visit in visits)
    assert set(statuses) == {"completed", "cancelled", "no_show", "scheduled"}
    assert statuses["completed"] > 0.7 * len(visits)
    owned = defaultdict(set)
    for pet_uuid, customer_id in PetOwner.objects.values_list("pet__uuid", "customer_id"):
        owned[customer_id].add(pet_uuid)
    pets = {pet.uuid: pet for pet in Pet.objects.filter(tenant=tenant)}
    staff = Counter(visit.staff for visit in visits)
    assert 4 <= len(staff) <= 8 and all(staff)
    for visit in visits:
        pet = pets[visit.pet_uuid]
        assert visit.pet_uuid in owned[visit.customer_id]
        assert visit.pet_name == pet.name
        assert visit.currency == "NGN" and visit.price_q > 0
        assert visit.created_at == visit.updated_at <= NOW
        if pet.deceased_on is not None:
            assert visit.occurred_at.astimezone(LAGOS).date() <= pet.deceased_on
        if visit.status == "completed":
            assert visit.occurred_at == visit.completed_at <= visit.created_at
            assert visit.scheduled_at is None or visit.scheduled_at < visit.completed_at
            assert visit.cancelled_at is None
        elif visit.status in ("cancelled", "no_show"):
            assert visit.completed_at is None
            assert visit.occurred_at == visit.scheduled_at
            assert visit.cancelled_at == visit.created_at
        else:
            assert visit.scheduled_at > NOW >= visit.created_at
            assert visit.occurred_at == visit.scheduled_at
    # A visit given is invoiced at the till
    invoiced = set(
        Order.objects.filter(tenant=tenant, metadata__has_key="visit").values_list(
            "metadata__visit", flat=True
        )
    )
    assert invoiced == {visit.external_id for visit in visits if visit.status == "completed"}


@pytest.mark.django_db
def test_pets_have_one_to_three_per_owner_and_a_few_share_two(tenant):
    load_demo(tenant=tenant, customers=400, seed=7, business="clinic", now=NOW)

    owners = list(PetOwner.objects.filter(tenant=tenant).select_related("pet", "customer"))
    primary = Counter(link.customer_id for link in owners if link.is_primary)
    assert set(primary.values()) == {1, 2, 3}
    assert len(primary) == Customer.objects.filter(tenant=tenant).count()
    per_pet = Counter(link.pet_id for link in owners)
    assert set(per_pet.values()) == {1, 2}
    assert 0 < sum(1 for n in per_pet.values() if n == 2) < 0.1 * len(per_pet)
    assert Counter(link.pet_id for link in owners if link.is_primary) == Counter(set(per_pet))
    for link in owners:
        assert link.since == link.created_at.astimezone(LAGOS).date()
        assert link.customer.created_at <= link.created_at <= NOW
    pets = Pet.objects.filter(tenant=tenant)
    assert {"dog", "cat"} <= set(pets.values_list("species", flat=True))
    assert "Boerboel" in set(pets.values_list("breed", flat=True))
    assert pets.exclude(microchip="").exists()
    assert pets.filter(deceased_on__isnull=False).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("business", ["retail", "cafe"])
def test_pets_and_visits_only_for_veterinary_clinics(tenant, business):
    load_demo(tenant=tenant, customers=150, seed=8, business=business, now=NOW)

    assert Order.objects.exists()
    assert not Pet.objects.exists()
    assert not Visit.objects.exists()
    assert not TimelineEvent.objects.filter(event_type="visit").exists()


@pytest.mark.django_db
def test_a_demo_visit_is_what_visit_service_writes(tenant, replay_tenant, make_customer):
    load_demo(tenant=tenant, customers=300, seed=9, business="clinic", now=NOW)
    actor = Actor.for_system(replay_tenant, "demo")

    for status in ("completed", "cancelled", "no_show", "scheduled"):
        demo = Visit.objects.filter(tenant=tenant, status=status).first()
        customer = make_customer(tenant=replay_tenant, first_name="Replay")
        visit = VisitService.record_visit(
            actor=actor,
            visit=VisitInput(
                customer=customer, external_id=demo.external_id, service=demo.service,
                status=demo.status, scheduled_at=demo.scheduled_at,
                completed_at=demo.completed_at, staff=demo.staff, pet_uuid=demo.pet_uuid,
                pet_name=demo.pet_name, price_q=demo.price_q, currency=demo.currency,
                source=demo.source, notes=demo.notes, metadata=demo.metadata,
            ),
        ).visit  # fmt: skip

        fields = (
            "source", "external_id", "service", "status", "scheduled_at", "completed_at",
            "staff", "pet_uuid", "pet_name", "price_q", "currency", "notes", "metadata",
        )  # fmt: skip
        assert [getattr(visit, name) for name in fields] == [getattr(demo, name) for name in fields]
        assert (visit.cancelled_at is None) == (demo.cancelled_at is None)
        if status != "cancelled" and status != "no_show":
            assert visit.occurred_at == demo.occurred_at
        ours = entries(customer, "visit_recorded")
        theirs = [
            entry
            for entry in entries(demo.customer, "visit_recorded")
            if entry["metadata"]["external_id"] == demo.external_id
        ]
        assert [without(entry, "visit") for entry in ours] == [
            without(entry, "visit") for entry in theirs
        ]


@pytest.mark.django_db
def test_a_demo_pet_is_what_pet_service_writes(tenant, replay_tenant, make_customer):
    # Given a demo pet with two owners, and one that died
    load_demo(tenant=tenant, customers=400, seed=10, business="clinic", now=NOW)
    shared = Pet.objects.annotate(owners_count=Count("ownerships")).filter(owners_count=2).first()
    deceased = Pet.objects.filter(deceased_on__isnull=False).first()
    assert shared and deceased
    actor = Actor.for_system(replay_tenant, "demo")

    for demo in (shared, deceased):
        # When the same pet is added, given its second owner, marked deceased
        links = list(demo.ownerships.order_by("-is_primary", "id").select_related("customer"))
        owner = make_customer(tenant=replay_tenant, first_name="Owner")
        fields = (
            "breed", "sex", "date_of_birth", "neutered", "colour", "microchip", "notes",
        )  # fmt: skip
        pet = PetService.add_pet(
            actor=actor,
            owner=owner,
            name=demo.name,
            species=demo.species,
            **{name: getattr(demo, name) for name in fields},
        )
        replayed = [owner]
        if len(links) == 2:
            other = make_customer(tenant=replay_tenant, first_name="Other")
            PetService.add_owner(actor=actor, pet=pet, customer=other)
            replayed.append(other)
        if demo.deceased_on is not None:
            pet = PetService.mark_deceased(actor=actor, pet=pet, on=demo.deceased_on)

        # Then the pet and each owner's timeline are the demo's
        stored = (
            "name", "name_key", "species", *fields, "deceased_on",
        )  # fmt: skip
        assert [getattr(pet, name) for name in stored] == [getattr(demo, name) for name in stored]
        for ours, link in zip(replayed, links, strict=True):
            for kind in ("pet_created", "pet_owner_added", "pet_updated"):
                theirs = [
                    without(entry, "pet")
                    for entry in entries(link.customer, kind)
                    if entry["metadata"]["pet"]["id"] == str(demo.uuid)
                ]
                assert [without(entry, "pet") for entry in entries(ours, kind)] == theirs
                payloads = [entry["metadata"]["pet"] for entry in entries(ours, kind)]
                assert [{**p, "id": str(demo.uuid)} for p in payloads] == [
                    entry["metadata"]["pet"]
                    for entry in entries(link.customer, kind)
                    if entry["metadata"]["pet"]["id"] == str(demo.uuid)
                ]


# --- interactions --------------------------------------------------------------------------


@pytest.mark.django_db
def test_interactions_have_staff_timeline_entries_and_follow_ups(tenant):
    load_demo(tenant=tenant, customers=500, seed=11, now=NOW)

    interactions = list(Interaction.objects.filter(tenant=tenant).select_related("timeline_event"))
    assert 0.5 * 500 < len(interactions) < 2 * 500
    assert len({i.handled_by_name for i in interactions}) == 5
    for interaction in interactions:
        event = interaction.timeline_event
        assert event.reference == f"interaction:{interaction.uuid}"
        assert event.customer_id == interaction.customer_id
        assert interaction.occurred_at <= event.created_at == interaction.created_at <= NOW
        assert interaction.customer.created_at < interaction.occurred_at
        if interaction.follow_up_done_at is not None:
            assert interaction.follow_up_required
            assert interaction.created_at <= interaction.follow_up_done_at <= NOW
            assert interaction.updated_at == interaction.follow_up_done_at
    today = NOW.astimezone(LAGOS).date()
    due_today = InteractionService.follow_ups(tenant=tenant, when="today", today=today)
    overdue = InteractionService.follow_ups(tenant=tenant, when="overdue", today=today)
    assert due_today.exists()
    assert overdue.exists()
    assert Interaction.objects.filter(follow_up_done_at__isnull=False).count() > overdue.count()
    assert set(Interaction.objects.values_list("channel", flat=True)) >= {
        "phone", "whatsapp", "email", "in_person",
    }  # fmt: skip
    # The old bare contact entries are gone: every contact entry is an interaction's
    contacts = TimelineEvent.objects.filter(tenant=tenant, event_type="contact")
    assert not contacts.filter(metadata__kind__isnull=True).exists()


@pytest.mark.django_db
def test_a_demo_interaction_is_what_interaction_service_writes(
    tenant, replay_tenant, make_customer
):
    load_demo(tenant=tenant, customers=300, seed=12, now=NOW)
    demo = Interaction.objects.filter(tenant=tenant, follow_up_done_at__isnull=False).first()
    customer = make_customer(tenant=replay_tenant, first_name="Replay")
    actor = Actor.for_system(replay_tenant, "demo")

    interaction = InteractionService.log_interaction(
        actor=actor,
        customer=customer,
        interaction_type=demo.interaction_type,
        channel=demo.channel,
        direction=demo.direction,
        subject=demo.subject,
        notes=demo.notes,
        handled_by=demo.handled_by_name,
        duration_minutes=demo.duration_minutes,
        outcome=demo.outcome,
        follow_up_required=demo.follow_up_required,
        follow_up_date=demo.follow_up_date,
        occurred_at=demo.occurred_at,
    )
    interaction = InteractionService.complete_follow_up(
        actor=actor, interaction=interaction, at=demo.follow_up_done_at
    )

    fields = (
        "interaction_type", "channel", "direction", "subject", "notes", "handled_by_id",
        "handled_by_name", "duration_minutes", "outcome", "follow_up_required",
        "follow_up_date", "follow_up_done_at", "occurred_at",
    )  # fmt: skip
    assert [getattr(interaction, name) for name in fields] == [
        getattr(demo, name) for name in fields
    ]
    logged = entries(customer, "interaction_logged")
    assert len(logged) == 1
    theirs = demo.timeline_event
    assert {**logged[0], "reference": "", "metadata": {}} == {
        **{name: getattr(theirs, name) for name in ENTRY_FIELDS},
        "reference": "",
        "metadata": {},
    }
    assert (
        without(logged[0], "interaction")["metadata"]
        == without({"metadata": theirs.metadata}, "interaction")["metadata"]
    )
    done = entries(customer, "interaction_follow_up_completed")
    demo_done = [
        entry
        for entry in entries(demo.customer, "interaction_follow_up_completed")
        if entry["metadata"]["interaction"]["id"] == str(demo.uuid)
    ]
    assert len(done) == len(demo_done) == 1
    assert {**done[0]["metadata"]["interaction"], "id": str(demo.uuid)} == demo_done[0]["metadata"][
        "interaction"
    ]
    assert without(done[0], "interaction") == without(demo_done[0], "interaction")


# --- the run as a whole --------------------------------------------------------------------


def test_the_same_seed_draws_the_same_rows_and_another_seed_others():
    first = draw(customers=200, business="clinic")
    again = draw(customers=200, business="clinic")
    other = draw(customers=200, business="clinic", seed=32)

    for name in ("orders", "order_lines", "order_refunds", "visits", "pets", "interactions"):
        assert getattr(first, name) == getattr(again, name), name
        assert getattr(first, name) != getattr(other, name), name
    assert first.orders and first.visits and first.pets and first.interactions


def test_commerce_and_pets_draw_the_same_rows_whichever_else_is_installed():
    everything = draw(customers=250, business="clinic")
    commerce = draw(customers=250, business="clinic", apps=("commerce",))
    pets = draw(customers=250, business="clinic", apps=("pets",))
    core = draw(customers=250, business="clinic", apps=())

    for name in ("orders", "order_lines", "order_refunds"):
        assert getattr(commerce, name) == getattr(everything, name), name
    # Without the pets app a visit still names the pet, but points at no pet row
    pet_uuid = 12
    assert [row[:pet_uuid] + row[pet_uuid + 1 :] for row in commerce.visits] == [
        row[:pet_uuid] + row[pet_uuid + 1 :] for row in everything.visits
    ]
    assert all(row[pet_uuid] is None for row in commerce.visits)
    assert all(row[pet_uuid] is not None for row in everything.visits)
    assert pets.pets == everything.pets and pets.pet_owners == everything.pet_owners
    assert not pets.orders and not core.orders and not core.pets
    # The core's customers, and everyone's interactions, do not move
    for name in ("customers", "addresses", "notes", "interactions"):
        assert getattr(core, name) == getattr(everything, name), name


@pytest.mark.django_db
def test_the_same_seed_writes_the_same_rows_whatever_the_batch_size(tenant):
    def snapshot() -> dict[str, list]:
        code = "customer__code"
        return {
            "orders": list(
                Order.objects.order_by("uuid").values_list(
                    "uuid", code, "external_id", "status", "placed_at", "total_q", "refunded_q"
                )
            ),
            "lines": list(
                OrderLine.objects.order_by("order__uuid", "position").values_list(
                    "order__uuid", "position", "sku", "quantity", "total_q"
                )
            ),
            "visits": list(
                Visit.objects.order_by("uuid").values_list("uuid", code, "status", "pet_uuid")
            ),
            "pets": list(
                PetOwner.objects.order_by("pet__uuid", code).values_list("pet__uuid", code)
            ),
            "interactions": list(
                Interaction.objects.order_by("uuid").values_list(
                    "uuid", code, "subject", "timeline_event__uuid"
                )
            ),
        }

    load_demo(tenant=tenant, customers=150, seed=13, business="clinic", now=NOW, batch_size=64)
    first = snapshot()
    Customer.objects.all().delete()
    Pet.objects.all().delete()  # pets belong to the tenant, and outlive a bare delete
    load_demo(tenant=tenant, customers=150, seed=13, business="clinic", now=NOW, batch_size=29)

    assert snapshot() == first
    assert all(first.values())


@pytest.mark.django_db
def test_a_second_run_continues_the_order_numbers(tenant):
    load_demo(tenant=tenant, customers=120, seed=14, business="clinic", now=NOW)
    before = Order.objects.count(), Visit.objects.count(), Pet.objects.count()

    load_demo(tenant=tenant, customers=120, seed=14, business="clinic", now=NOW)

    assert Order.objects.count() > before[0]
    assert Visit.objects.count() > before[1]
    assert Pet.objects.count() > before[2]
    chips = list(Pet.objects.exclude(microchip="").values_list("microchip", flat=True))
    assert len(chips) == len(set(chips))


@pytest.mark.django_db
def test_the_summary_counts_orders_visits_pets_and_interactions(tenant):
    out = StringIO()
    call_command("demo", "--customers", "120", "--seed", "15", "--business", "clinic", stdout=out)

    output = out.getvalue()
    interactions = Interaction.objects.filter(tenant=tenant)
    open_follow_ups = interactions.filter(
        follow_up_required=True, follow_up_done_at__isnull=True
    ).count()
    assert (
        f"{TimelineEvent.objects.count():,} timeline events, "
        f"{interactions.count():,} interactions ({open_follow_ups:,} follow-ups open), "
        f"{Order.objects.count():,} orders ({OrderLine.objects.count():,} lines, "
        f"{Order.objects.filter(status='cancelled').count():,} cancelled, "
        f"{OrderRefund.objects.count():,} refunds), {Visit.objects.count():,} visits, "
        f"{Pet.objects.count():,} pets ({PetOwner.objects.count():,} owners), "
    ) in output
    assert not OutboxEvent.objects.exists()
