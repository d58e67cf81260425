"""`rapport demo` with the optional apps: consents with their history, identifiers, preferences."""

import datetime as dt
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.consent.services import ConsentService, title_of
from rapport.customers.models import Customer
from rapport.demo.businesses import BUSINESSES
from rapport.demo.generator import EVENT_FIELDS, DemoGenerator, TagChoice
from rapport.demo.loader import load_demo
from rapport.demo.locales import locale_for
from rapport.demo.optional_apps import notice_version_at, optional_rows
from rapport.events.models import OutboxEvent
from rapport.identity.models import CustomerIdentifier
from rapport.identity.services import IdentifierService, normalize_identifier
from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService, clean_preference
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TIMELINE_FIELDS = ("event_type", "title", "description", "channel", "reference", "metadata")
CORE = ("customers", "addresses", "customer_tags", "notes")
METADATA = EVENT_FIELDS.index("metadata")
OPTIONAL_KINDS = {"consent_changed", "identifier_added", "preference_set"}


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def timeline_of(customer, kind: str) -> list[dict]:
    """The customer's timeline entries of one kind, oldest first, as comparable dicts."""
    events = TimelineEvent.objects.filter(customer=customer, metadata__kind=kind)
    return [
        {name: getattr(event, name) for name in TIMELINE_FIELDS}
        for event in events.order_by("created_at", "id")
    ]


def without(entry: dict, *keys: str) -> dict:
    return {key: value for key, value in entry.items() if key not in keys}


def draw(*, customers: int, apps=(), in_use=None, seed: int = 21):
    """The rows the demo would write for `customers` customers, with no database."""
    locale, business = locale_for("NG"), BUSINESSES["retail"]
    tags = [
        TagChoice(number, tag.name, tag.share, tag.customer_type)
        for number, tag in enumerate(business.tags)
    ]
    optional = optional_rows(
        apps, seed=seed, tenant_id=1, locale=locale, business=business, now=NOW,
        identifiers_in_use=in_use,
    )  # fmt: skip
    generator = DemoGenerator(
        seed=seed, tenant_id=1, country="NG", currency="NGN", locale=locale, business=business,
        tags=tags, total=customers, now=NOW, optional=optional,
    )  # fmt: skip
    return generator.batch(list(range(1, customers + 1)))


# --- consent -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_consent_has_a_history_that_ends_in_its_status(tenant):
    load_demo(tenant=tenant, customers=400, seed=5, now=NOW)

    consents = list(CommunicationConsent.objects.filter(tenant=tenant).select_related("customer"))
    assert len(consents) > 200
    assert {c.status for c in consents} == {"opted_in", "opted_out"}
    histories: dict[tuple[int, str], list[ConsentChange]] = {}
    for change in ConsentChange.objects.filter(tenant=tenant).order_by("created_at", "id"):
        histories.setdefault((change.customer_id, change.channel), []).append(change)
    assert len(histories) == len(consents)
    for consent in consents:
        history = histories[(consent.customer_id, consent.channel)]
        # The newest change is the consent's status, and each change starts where the last ended
        assert history[-1].new_status == consent.status
        assert [change.previous_status for change in history] == [
            "pending",
            *[change.new_status for change in history[:-1]],
        ]
        assert all(change.actor == "system:demo" for change in history)
        assert consent.created_at == history[0].created_at
        assert consent.updated_at == history[-1].created_at
        assert consent.created_at > consent.customer.created_at
        assert consent.updated_at <= NOW
        if consent.consented_at is not None:
            assert consent.consented_at > consent.customer.created_at
        if consent.status == "opted_in":
            assert consent.legal_basis == "consent"
            assert (consent.revoked_at is None) == (len(history) == 1)
            assert consent.notice_version == notice_version_at(consent.consented_at)
            assert consent.source
        else:
            assert consent.revoked_at == history[-1].created_at
            assert consent.notice_version == ""
    # The timeline holds one entry per change, as ConsentService logs them; no outbox events
    changes = ConsentChange.objects.filter(tenant=tenant)
    entries = TimelineEvent.objects.filter(tenant=tenant, metadata__kind="consent_changed")
    assert entries.count() == changes.count()
    assert {(e.title, e.event_type) for e in entries} <= {
        (title_of(channel, status), "contact")
        for channel in ("email", "whatsapp", "sms")
        for status in ("opted_in", "opted_out")
    }
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_each_channel_goes_only_to_customers_who_can_be_reached_on_it(tenant):
    load_demo(tenant=tenant, customers=400, seed=6, now=NOW)

    consents = CommunicationConsent.objects.filter(tenant=tenant)
    assert not consents.filter(channel="email", customer__email="").exists()
    assert not consents.filter(channel__in=["whatsapp", "sms"], customer__phone="").exists()
    assert not consents.filter(channel="push").exists()
    # Many of those with an email opted in to it; some opted out later, with proof of how
    with_email = Customer.objects.filter(tenant=tenant).exclude(email="").count()
    email_opt_ins = consents.filter(channel="email", status="opted_in").count()
    assert 0.3 * with_email < email_opt_ins < 0.7 * with_email
    assert consents.filter(channel="whatsapp", status="opted_in").count() > 100
    assert consents.filter(revoked_at__isnull=False, consented_at__isnull=False).exists()
    online = consents.filter(source__in=["website", "checkout", "double_opt_in"])
    assert online.exists()
    assert not online.filter(ip_address__isnull=True).exists()
    assert not consents.filter(source="pos", ip_address__isnull=False).exists()


@pytest.mark.django_db
def test_marketable_customers_exist_for_email_and_the_api_pages_them(tenant, read_api):
    load_demo(tenant=tenant, customers=300, seed=7, now=NOW)

    codes = ConsentService.get_marketable_customers(tenant=tenant, channel="email")
    response = read_api.get("/consents/marketable", {"channel": "email", "limit": 20})

    assert len(codes) > 30
    opted_in = CommunicationConsent.objects.filter(
        tenant=tenant, channel="email", status="opted_in", customer__is_archived=False
    )
    assert sorted(opted_in.values_list("customer__code", flat=True)) == codes
    assert not Customer.objects.filter(code__in=codes, email="").exists()
    assert response.status_code == 200
    assert response.json()["items"] == codes[:20]
    assert response.json()["next_cursor"] is not None


@pytest.mark.django_db
def test_a_demo_consent_history_is_what_consent_service_writes(tenant, other_tenant, make_customer):
    # Given a demo consent given, revoked and given again, and one declined outright
    load_demo(tenant=tenant, customers=1500, seed=8, now=NOW)
    regranted = (
        CommunicationConsent.objects.filter(tenant=tenant, status="opted_in")
        .exclude(revoked_at=None)
        .first()
    )
    declined = CommunicationConsent.objects.filter(
        tenant=tenant, status="opted_out", consented_at=None
    ).first()
    assert regranted is not None and declined is not None

    for demo in (regranted, declined):
        # When the same changes, with the same proof, go through ConsentService
        customer = make_customer(tenant=other_tenant, first_name="Replay")
        actor = Actor.for_system(other_tenant, "demo")
        history = ConsentChange.objects.filter(customer=demo.customer, channel=demo.channel)
        for change in history.order_by("created_at", "id"):
            if change.new_status == "opted_in":
                write, legal_basis = ConsentService.grant_consent, change.legal_basis
            else:
                write, legal_basis = ConsentService.revoke_consent, ""  # keeps the granted one
            write(
                actor=actor,
                code=customer.code,
                channel=change.channel,
                legal_basis=legal_basis,
                source=change.source,
                ip_address=change.ip_address,
                user_agent=change.user_agent,
                notice_version=change.notice_version,
            )

        # Then the consent, its history and its timeline are the demo's
        replayed = CommunicationConsent.objects.get(customer=customer, channel=demo.channel)
        proof = ("status", "legal_basis", "source", "ip_address", "user_agent", "notice_version")
        assert [getattr(replayed, name) for name in proof] == [
            getattr(demo, name) for name in proof
        ]
        assert (replayed.consented_at is None, replayed.revoked_at is None) == (
            demo.consented_at is None,
            demo.revoked_at is None,
        )
        fields = (
            "channel", "previous_status", "new_status", "legal_basis", "source", "ip_address",
            "user_agent", "notice_version", "actor",
        )  # fmt: skip
        assert list(
            ConsentChange.objects.filter(customer=customer).order_by("id").values_list(*fields)
        ) == list(history.order_by("created_at", "id").values_list(*fields))
        assert timeline_of(customer, "consent_changed") == [
            entry
            for entry in timeline_of(demo.customer, "consent_changed")
            if entry["metadata"]["channel"] == demo.channel
        ]


# --- identity ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_identifiers_are_normalized_and_find_their_customer(tenant, read_api):
    load_demo(tenant=tenant, customers=600, seed=9, now=NOW)

    identifiers = list(CustomerIdentifier.objects.filter(tenant=tenant).select_related("customer"))
    assert {i.type for i in identifiers} == {"whatsapp", "instagram", "facebook"}
    for identifier in identifiers:
        customer = identifier.customer
        assert normalize_identifier(tenant, identifier.type, identifier.value) == identifier.value
        found = IdentifierService.find_by_identifier(
            tenant=tenant, type=identifier.type, value=identifier.value
        )
        assert found == customer
        assert identifier.is_primary
        assert identifier.source == identifier.type
        assert identifier.created_at >= customer.created_at
        if identifier.type == "whatsapp":
            assert identifier.value == customer.phone
        elif identifier.type == "instagram":
            assert identifier.value == customer.instagram_handle.lower()
    # A handle as people type it, and a local phone number, find the same customers
    handle = next(i for i in identifiers if i.type == "instagram")
    number = next(i for i in identifiers if i.type == "whatsapp")
    local = "0" + number.value.removeprefix("+234")
    for type, value, identifier in (
        ("instagram", f"@{handle.value.upper()}", handle),
        ("instagram", f"https://www.instagram.com/{handle.value}/", handle),
        ("whatsapp", local, number),
    ):
        response = read_api.get("/identifiers/lookup", {"type": type, "value": value})
        assert response.status_code == 200, (type, value)
        assert response.json()["code"] == identifier.customer.code
    entries = TimelineEvent.objects.filter(tenant=tenant, metadata__kind="identifier_added")
    assert entries.count() == len(identifiers)


@pytest.mark.django_db
def test_a_demo_identifier_is_what_identifier_service_writes(tenant, other_tenant, make_customer):
    load_demo(tenant=tenant, customers=300, seed=10, now=NOW)
    customer = make_customer(tenant=other_tenant, first_name="Ada")

    for type in ("whatsapp", "instagram"):
        demo = CustomerIdentifier.objects.filter(tenant=tenant, type=type).first()
        added = IdentifierService.add_identifier(
            actor=Actor.for_system(other_tenant, "demo"),
            code=customer.code,
            type=demo.type,
            value=demo.value,
            source=demo.source,
        )

        assert (added.type, added.value, added.is_primary, added.source) == (
            demo.type,
            demo.value,
            demo.is_primary,
            demo.source,
        )
        ours = timeline_of(customer, "identifier_added")[-1]
        theirs = next(
            entry
            for entry in timeline_of(demo.customer, "identifier_added")
            if entry["metadata"]["type"] == demo.type
        )
        assert without(ours, "metadata") == without(theirs, "metadata")
        assert ours["metadata"] == {**theirs["metadata"], "identifier": str(added.uuid)}


def test_an_identifier_someone_holds_already_is_left_out():
    # Given the identifiers the demo draws for a few hundred customers
    first = draw(customers=300, apps=("identity",))
    taken = first.identifiers[0]

    # When the same draw runs with one of those values already in use
    again = draw(customers=300, apps=("identity",), in_use={(taken[3], taken[4])})

    # Then that customer goes without it, and everyone else gets the same identifiers
    def values(rows: list[tuple]) -> list[tuple]:
        return [row[1:] for row in rows]  # UUIDs aside: one fewer is drawn

    assert values(again.identifiers) == values(first.identifiers[1:])
    assert len(again.events) == len(first.events) - 1


# --- preferences ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("business", "expected"),
    [
        ("cafe", {("drinks", "milk"), ("diet", "restrictions"), ("health", "allergies")}),
        ("clinic", {("pet_health", "allergies"), ("appointments", "preferred_day")}),
        ("retail", {("sizes", "clothing"), ("payment", "method")}),
    ],
)
def test_preferences_fit_the_business_and_keep_the_service_rules(tenant, business, expected):
    load_demo(tenant=tenant, customers=500, seed=11, business=business, now=NOW)

    preferences = list(CustomerPreference.objects.filter(tenant=tenant))
    spec_keys = {(spec.category, spec.key) for spec in BUSINESSES[business].preferences}
    keys = {(p.category, p.key) for p in preferences}
    assert expected <= keys <= spec_keys
    customers = {p.customer_id for p in preferences}
    assert 0.1 * 500 < len(customers) < 0.5 * 500
    for preference in preferences:
        stored = clean_preference(
            category=preference.category,
            key=preference.key,
            value=preference.value,
            preference_type=preference.preference_type,
            confidence=preference.confidence,
            source=preference.source,
        )
        assert stored["confidence"] == preference.confidence
    types = {p.preference_type for p in preferences}
    assert types == {"explicit", "inferred", "restriction"}
    assert all(p.confidence < 1 for p in preferences if p.preference_type == "inferred")
    entries = TimelineEvent.objects.filter(tenant=tenant, metadata__kind="preference_set")
    assert entries.count() == len(preferences)


@pytest.mark.django_db
def test_a_demo_preference_is_what_preference_service_writes(tenant, other_tenant, make_customer):
    load_demo(tenant=tenant, customers=300, seed=12, business="cafe", now=NOW)
    customer = make_customer(tenant=other_tenant, first_name="Ada")

    for preference_type in ("explicit", "inferred", "restriction"):
        demo = CustomerPreference.objects.filter(
            tenant=tenant, preference_type=preference_type
        ).first()
        stored = PreferenceService.set_preference(
            actor=Actor.for_system(other_tenant, "demo"),
            code=customer.code,
            category=demo.category,
            key=demo.key,
            value=demo.value,
            preference_type=demo.preference_type,
            confidence=demo.confidence,
            source=demo.source,
        )

        fields = ("category", "key", "value", "preference_type", "confidence", "source")
        assert [getattr(stored, name) for name in fields] == [
            getattr(demo, name) for name in fields
        ]
        ours = timeline_of(customer, "preference_set")[-1]
        theirs = next(
            entry
            for entry in timeline_of(demo.customer, "preference_set")
            if entry["metadata"]["key"] == demo.key
        )
        assert ours == theirs


# --- the run as a whole --------------------------------------------------------------------


def test_the_optional_apps_change_none_of_the_core_rows():
    core_only = draw(customers=400)
    everything = draw(customers=400, apps=("consent", "identity", "preferences"))

    for name in CORE:
        assert getattr(everything, name) == getattr(core_only, name), name
    core_events = [e for e in everything.events if e[METADATA].get("kind") not in OPTIONAL_KINDS]
    assert core_events == core_only.events
    assert not (core_only.consents or core_only.identifiers or core_only.preferences)
    assert everything.consents and everything.identifiers and everything.preferences


def test_each_app_draws_the_same_rows_whichever_others_are_installed():
    everything = draw(customers=300, apps=("consent", "identity", "preferences"))

    for app, rows in (
        ("consent", ("consents", "consent_changes")),
        ("identity", ("identifiers",)),
        ("preferences", ("preferences",)),
    ):
        alone = draw(customers=300, apps=(app,))
        for name in rows:
            assert getattr(alone, name) == getattr(everything, name), name


def test_another_seed_draws_other_rows():
    first = draw(customers=200, apps=("consent", "identity", "preferences"))
    other = draw(customers=200, apps=("consent", "identity", "preferences"), seed=22)

    assert first.consents != other.consents
    assert first.preferences != other.preferences


@pytest.mark.django_db
def test_the_same_seed_writes_the_same_rows(tenant):
    def snapshot() -> dict[str, list]:
        code = "customer__code"
        return {
            "consents": list(
                CommunicationConsent.objects.order_by(code, "channel").values_list(
                    "uuid", code, "channel", "status", "source", "ip_address", "consented_at",
                    "revoked_at", "notice_version", "created_at",
                )
            ),
            "changes": list(
                ConsentChange.objects.order_by(code, "channel", "created_at", "id").values_list(
                    "uuid", code, "channel", "previous_status", "new_status", "created_at"
                )
            ),
            "identifiers": list(
                CustomerIdentifier.objects.order_by(code, "type").values_list(
                    "uuid", code, "type", "value", "created_at"
                )
            ),
            "preferences": list(
                CustomerPreference.objects.order_by(code, "category", "key").values_list(
                    "uuid", code, "category", "key", "value", "confidence", "created_at"
                )
            ),
        }  # fmt: skip

    load_demo(tenant=tenant, customers=250, seed=13, now=NOW, batch_size=100)
    first = snapshot()
    Customer.objects.all().delete()
    load_demo(tenant=tenant, customers=250, seed=13, now=NOW, batch_size=37)
    again = snapshot()

    assert again == first
    assert all(first.values())


@pytest.mark.django_db
def test_a_second_run_adds_rows_for_the_new_customers_only(tenant):
    load_demo(tenant=tenant, customers=200, seed=14, now=NOW)
    before = {
        "consents": CommunicationConsent.objects.count(),
        "identifiers": CustomerIdentifier.objects.count(),
        "preferences": CustomerPreference.objects.count(),
    }

    load_demo(tenant=tenant, customers=200, seed=14, now=NOW)

    newest = Customer.objects.order_by("-id")[:200]
    assert CommunicationConsent.objects.count() > before["consents"]
    assert CustomerIdentifier.objects.count() > before["identifiers"]
    assert CustomerPreference.objects.count() > before["preferences"]
    assert CommunicationConsent.objects.filter(customer__in=list(newest)).count() == (
        CommunicationConsent.objects.count() - before["consents"]
    )


@pytest.mark.django_db
def test_the_summary_counts_what_was_written(tenant):
    output = run_demo("--customers", "150", "--seed", "15", "--batch-size", "40")

    consents = CommunicationConsent.objects.filter(tenant=tenant)
    opted_in = consents.filter(status="opted_in").count()
    assert (
        f"{consents.count():,} consents ({opted_in:,} opted in) with "
        f"{ConsentChange.objects.count():,} changes, "
        f"{CustomerIdentifier.objects.count():,} identifiers, "
        f"{CustomerPreference.objects.count():,} preferences; "
    ) in output
    assert f"{TimelineEvent.objects.count():,} timeline events" in output


def test_the_demo_runs_without_the_optional_apps(tmp_path):
    # Given rapport's settings less the optional apps, on a database of its own
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.core_alone",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-c", "from rapport.cli import main; main()"]

    # When it migrates and loads demo customers
    for args in (["migrate", "--verbosity", "0"], ["demo", "--customers", "120"]):
        result = subprocess.run(
            [*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr

    # Then the customers are there, and nothing of the missing apps is mentioned
    assert "120 customers" in result.stdout
    for word in ("consents", "identifiers", "preferences"):
        assert word not in result.stdout
    check = subprocess.run(
        [
            *command, "shell", "-c",
            "import json; from rapport.timeline.models import TimelineEvent; "
            "kinds = TimelineEvent.objects.values_list('metadata__kind', flat=True); "
            "print(json.dumps(sorted({kind for kind in kinds if kind})))",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    kinds = set(json.loads(check.stdout.strip().splitlines()[-1]))
    assert "created" in kinds
    assert not kinds & OPTIONAL_KINDS
