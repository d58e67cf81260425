"""No request reaches another tenant's rows: every route that takes an id answers 404 to another
tenant's key and changes nothing, and no list shows another tenant's rows.

The routes come from the OpenAPI schema, so a new route is covered the day it is added; a new
route with a body and no sample body below makes this file fail until one is written.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.utils import timezone

from rapport.api import api as rapport_api
from rapport.commerce.services import OrderInput, OrderService, VisitInput, VisitService
from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.consent.services import ConsentService
from rapport.customers.models import (
    ContactPoint,
    Customer,
    CustomerAddress,
    CustomerTag,
    ExternalIdentity,
    Note,
    Tag,
)
from rapport.customers.services import (
    AddressService,
    ContactPointService,
    ExternalIdentityService,
    NoteService,
    TagService,
)
from rapport.events.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rapport.identity.models import CustomerIdentifier, CustomerMerge, IdentifierType
from rapport.identity.services import IdentifierService, IdentifierTypeService, MergeService
from rapport.ingest.inbound import receive as receive_event
from rapport.ingest.models import ImportJob
from rapport.ingest.payloads import parse_envelope
from rapport.insights.models import CustomerInsight, InsightRun
from rapport.insights.services import InsightService
from rapport.loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyRule,
    LoyaltyTier,
    LoyaltyTransaction,
)
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from rapport.pets.models import Pet, PetOwner
from rapport.pets.services import PetService
from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.privacy.services import DataSubjectRequestService
from rapport.segments.models import Segment, SegmentMembership
from rapport.segments.services import SegmentService
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import ApiKey, IdempotencyRecord, Tenant
from rapport.timeline.interactions import InteractionService
from rapport.timeline.models import Interaction, TimelineEvent
from rapport.timeline.services import TimelineService
from tests.events.helpers import webhook_records
from tests.jobs.helpers import stored_result

pytestmark = pytest.mark.django_db

MARK = "Qwertz"  # in every readable field of the default tenant's records

PATHS = rapport_api.get_openapi_schema()["paths"]
PATH_PARAMETER = re.compile(r"{(\w+)}")


def _operations(with_path_parameters: bool) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in PATHS.items()
        for method in operations
        if bool(PATH_PARAMETER.search(path)) == with_path_parameters
    ]


# Path parameters that name a kind of thing (an RFM segment, an insight type), not a record:
# another tenant gets an answer about its own customers, so those routes are lists (below).
KIND_PARAMETERS = {"segment": "champions", "group": "champion", "insight_type": "top_customers"}


def _names_a_kind(path: str) -> bool:
    return set(PATH_PARAMETER.findall(path)) <= set(KIND_PARAMETERS)


ID_OPERATIONS = [(m, p) for m, p in _operations(with_path_parameters=True) if not _names_a_kind(p)]
# Lookups answer 404 when nothing matches, so they are tested on their own below.
LOOKUP_OPERATIONS = {("GET", "/api/v1/identifiers/lookup")}
LIST_OPERATIONS = [
    (m, p)
    for m, p in _operations(with_path_parameters=False)
    if m == "GET" and (m, p) not in LOOKUP_OPERATIONS
] + [(m, p) for m, p in _operations(with_path_parameters=True) if m == "GET" and _names_a_kind(p)]

# Query parameters a list needs (the channel of an audience).
LIST_PARAMETERS = {"/api/v1/consents/marketable": {"channel": "email"}}

# A valid body for every id route that takes one: the owner's key succeeds with it (tested
# below), so another tenant's 404 is about the id, never about the body.
SAMPLE_BODIES = {
    ("PATCH", "/api/v1/customers/{code}"): {"first_name": "Changed", "referred_by": None},
    ("POST", "/api/v1/customers/{code}/tags"): {"tags": [f"{MARK} VIP", "Injected"]},
    ("POST", "/api/v1/customers/{code}/notes"): {"content": "Injected note"},
    ("POST", "/api/v1/customers/{code}/addresses"): {"line1": "9 Injected Road"},
    ("PATCH", "/api/v1/customers/{code}/addresses/{address_id}"): {
        "city": "Elsewhere",
        "is_default": True,
    },
    ("POST", "/api/v1/customers/{code}/contact-points"): {
        "type": "email",
        "value": "injected@example.com",
    },
    ("PATCH", "/api/v1/customers/{code}/contact-points/{contact_point_id}"): {
        "is_primary": True,
        "is_verified": True,
    },
    ("POST", "/api/v1/customers/{code}/external-identities"): {
        "provider": "injected",
        "external_id": "1",
    },
    ("PATCH", "/api/v1/tags/{tag_id}"): {"name": "Injected", "color": "#000000"},
    ("POST", "/api/v1/customers/{code}/timeline"): {"event_type": "contact", "title": "Injected"},
    ("POST", "/api/v1/customers/{code}/consents/{channel}/grant"): {"source": "Injected"},
    ("POST", "/api/v1/customers/{code}/consents/{channel}/revoke"): {"source": "Injected"},
    ("POST", "/api/v1/customers/{code}/consents/{channel}/request-confirmation"): {
        "notice_version": "Injected"
    },
    ("POST", "/api/v1/customers/{code}/identifiers"): {"type": "manychat", "value": "Injected"},
    ("PATCH", "/api/v1/customers/{code}/identifiers/{identifier_id}"): {"is_primary": True},
    ("POST", "/api/v1/customers/{code}/erase"): {"confirm": "QWERTZ-1"},
    ("PATCH", "/api/v1/data-subject-requests/{request_id}"): {
        "status": "in_progress",
        "notes": "Injected",
    },
    ("PUT", "/api/v1/customers/{code}/preferences/{category}/{key}"): {"value": "Injected"},
    ("POST", "/api/v1/customers/{code}/loyalty/earn"): {"reference": "Injected", "points": 5},
    ("POST", "/api/v1/customers/{code}/loyalty/redeem"): {"reference": "Injected", "points": 5},
    ("POST", "/api/v1/customers/{code}/loyalty/stamps"): {"reference": "Injected"},
    ("POST", "/api/v1/customers/{code}/loyalty/bonus"): {"event": "birthday"},
    ("POST", "/api/v1/customers/{code}/loyalty/adjust"): {"points": 5, "description": "Injected"},
    ("POST", "/api/v1/customers/{code}/loyalty/transactions/{transaction_id}/reverse"): {
        "reference": "Injected"
    },
    ("PATCH", "/api/v1/loyalty/rules/{rule_id}"): {"name": "Injected"},
    ("POST", "/api/v1/customers/{code}/pets"): {"name": "Injected", "species": "cat"},
    ("PATCH", "/api/v1/pets/{pet_id}"): {"name": "Injected", "neutered": True},
    ("POST", "/api/v1/pets/{pet_id}/owners"): {"code": "QWERTZ-REFERRER"},
    ("POST", "/api/v1/customers/{code}/interactions"): {
        "interaction_type": "call",
        "channel": "phone",
        "direction": "inbound",
        "subject": "Injected",
    },
    ("PATCH", "/api/v1/interactions/{interaction_id}"): {"subject": "Injected"},
    ("POST", "/api/v1/orders/{order_id}/refund"): {"amount_q": 100, "reason": "Injected"},
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"description": "Injected"},
    ("PUT", "/api/v1/segments/{segment_id}"): {"name": "Injected", "type": "manual"},
    ("PATCH", "/api/v1/segments/{segment_id}"): {"name": "Injected", "is_active": False},
    ("POST", "/api/v1/segments/{segment_id}/customers"): {"codes": ["QWERTZ-REFERRER"]},
}
# Routes whose owner call needs a record in another state: parameter -> the parameter naming it.
OWNER_PARAMETERS = {
    ("POST", "/api/v1/orders/{order_id}/cancel"): {"order_id": "pending_order_id"},
    ("POST", "/api/v1/visits/{visit_id}/cancel"): {"visit_id": "booked_visit_id"},
    ("POST", "/api/v1/visits/{visit_id}/no-show"): {"visit_id": "booked_visit_id"},
}


@dataclass
class Records:
    """The default tenant's records, and the path parameter values that name them."""

    parameters: dict[str, str]
    texts: list[str]  # what must never show up in another tenant's answers


@pytest.fixture
def records(tenant, other_tenant, make_customer, make_key) -> Records:
    actor = Actor.for_system(tenant, "tests")
    referrer = make_customer(code="QWERTZ-REFERRER", first_name=f"{MARK} Referrer")
    customer = make_customer(
        code="QWERTZ-1",
        first_name=f"{MARK} Ada",
        email="qwertz@example.com",
        phone="08031234567",
        referred_by=referrer.code,
        customer_type="vip",
        source="pos",
    )
    [tag] = TagService.add_tags(actor=actor, code=customer.code, names=[f"{MARK} VIP"])
    note = NoteService.add_note(actor=actor, code=customer.code, content=f"{MARK} note")
    NoteService.add_note(
        actor=actor, code=customer.code, content=f"{MARK} private", is_private=True
    )
    address = AddressService.add_address(actor=actor, code=customer.code, line1=f"1 {MARK} Road")
    contact_point = ContactPointService.add_contact_point(
        actor=actor, code=customer.code, type="email", value=f"{MARK}.contact@example.com"
    )
    identity = ExternalIdentityService.link(
        actor=actor, code=customer.code, provider="shopify", external_id=f"gid://shop/{MARK}"
    )
    TimelineService.log_event(
        customer=customer, event_type="visit", title=f"{MARK} visit", actor=actor
    )
    api_key, _ = make_key(tenant, ["read"], name=f"{MARK} key")
    ConsentService.grant_consent(
        actor=actor, code=customer.code, channel="email", source=f"{MARK} form"
    )
    identifier = IdentifierService.add_identifier(
        actor=actor, code=customer.code, type="instagram", value=f"@{MARK}_ada"
    )
    identifier_type = IdentifierTypeService.create_type(
        actor=actor, name=f"{MARK.lower()}_card", label=f"{MARK} card"
    )
    data_request = DataSubjectRequestService.open_request(
        actor=actor, kind="access", customer_code=customer.code, notes=f"{MARK} request"
    )
    PreferenceService.set_preference(
        actor=actor,
        code=customer.code,
        category="health",
        key="allergies",
        value=[f"{MARK} peanuts"],
        preference_type="restriction",
    )

    LoyaltyProgramService.configure_program(actor=actor, name=f"{MARK} Club")
    rule = LoyaltyProgramService.create_rule(
        actor=actor, name=f"{MARK} birthday", kind="bonus", event="birthday", points=50
    )
    earned = LoyaltyService.earn_points(
        actor=actor, code=customer.code, reference=f"{MARK}-order", points=100
    )

    for code in ("QWERTZ-KEEP", "QWERTZ-DUP"):
        make_customer(code=code, first_name=f"{MARK} Twin", email="qwertz.twin@example.com")
    merge = MergeService.merge(actor=actor, survivor="QWERTZ-KEEP", duplicate="QWERTZ-DUP")
    # Two owners, so the owner's own DELETE of one ownership succeeds.
    pet = PetService.add_pet(actor=actor, owner=customer, name=f"{MARK} Max", species="dog")
    PetService.add_owner(actor=actor, pet=pet, customer=merge.survivor)
    interaction = InteractionService.log_interaction(
        actor=actor,
        customer=customer,
        interaction_type="call",
        channel="phone",
        direction="inbound",
        subject=f"{MARK} call",
        follow_up_required=True,
    )
    order = OrderService.record_order(
        actor=actor,
        order=OrderInput(
            customer=customer, external_id=f"{MARK}-1043", placed_at=timezone.now(), total_q=4500
        ),
    ).order
    visit = VisitService.record_visit(
        actor=actor,
        visit=VisitInput(customer=customer, external_id=f"{MARK}-V1", service=f"{MARK} grooming"),
    ).visit
    pending_order = OrderService.record_order(
        actor=actor,
        order=OrderInput(
            customer=customer,
            external_id=f"{MARK}-1044",
            placed_at=timezone.now(),
            total_q=100,
            status="pending",
        ),
    ).order
    booked_visit = VisitService.record_visit(
        actor=actor,
        visit=VisitInput(
            customer=customer,
            external_id=f"{MARK}-V2",
            service=f"{MARK} check-up",
            status="scheduled",
            scheduled_at=timezone.now(),
        ),
    ).visit
    # Manual, with the customer in it, so the owner's own DELETE of the membership succeeds.
    segment = SegmentService.create_segment(actor=actor, name=f"{MARK} regulars", type="manual")
    SegmentService.add_customers(actor=actor, segment=segment, codes=[customer.code])
    run = InsightService.recalculate_all(actor=actor)
    inbound_event = receive_event(
        actor=actor,
        event=parse_envelope(
            {
                "id": f"{MARK}-event",
                "type": "user.registered",
                "data": {"user_id": f"{MARK}-u1", "first_name": f"{MARK} Registered"},
            }
        ),
    ).event

    # The other tenant has rows of its own, so its lists are not trivially empty.
    other_actor = Actor.for_system(other_tenant, "tests")
    theirs = make_customer(actor=other_actor, code="THEIRS-1", first_name="Theirs")
    make_customer(actor=other_actor, first_name="Theirs too", referred_by=theirs.code)
    TagService.add_tags(actor=other_actor, code=theirs.code, names=["Their tag"])
    # Enrolled too, so their own code reaches an account: what is refused is the record's id.
    LoyaltyService.enroll(actor=other_actor, code=theirs.code)

    return Records(
        parameters={
            "code": customer.code,
            "tag_id": str(tag.uuid),
            "tag_name": tag.name,
            "note_id": str(note.uuid),
            "address_id": str(address.uuid),
            "contact_point_id": str(contact_point.uuid),
            "identity_id": str(identity.uuid),
            "provider": identity.provider,
            "external_id": identity.external_id,
            "merge_id": str(merge.uuid),
            "key_id": str(api_key.uuid),
            "channel": "email",
            "identifier_id": str(identifier.uuid),
            "type_id": str(identifier_type.uuid),
            "request_id": str(data_request.uuid),
            "category": "health",
            "key": "allergies",
            "rule_id": str(rule.uuid),
            "transaction_id": str(earned.transaction.uuid),
            "pet_id": str(pet.uuid),
            "segment_id": str(segment.uuid),
            "interaction_id": str(interaction.uuid),
            "order_id": str(order.uuid),
            "visit_id": str(visit.uuid),
            "pending_order_id": str(pending_order.uuid),
            "booked_visit_id": str(booked_visit.uuid),
            "inbound_event_id": str(inbound_event.uuid),
            "import_id": str(
                ImportJob.objects.create(
                    tenant=tenant, kind="customers", filename=f"{MARK}.csv"
                ).uuid
            ),
            "result_id": stored_result(tenant),
            "run_id": str(run.uuid),
            **webhook_records(tenant, MARK),
        },
        texts=[
            MARK.lower(),
            "qwertz",
            str(tag.uuid),
            str(note.uuid),
            str(address.uuid),
            str(contact_point.uuid),
            str(identity.uuid),
            str(api_key.uuid),
            str(identifier.uuid),
            str(identifier_type.uuid),
            str(merge.uuid),
            str(data_request.uuid),
            str(rule.uuid),
            str(earned.transaction.uuid),
            str(earned.account.uuid),
            str(pet.uuid),
            str(segment.uuid),
            str(interaction.uuid),
            str(order.uuid),
            str(visit.uuid),
            str(pending_order.uuid),
            str(booked_visit.uuid),
            str(inbound_event.uuid),
            str(run.uuid),
            api_key.prefix,
            "+2348031234567",
        ],
    )


SNAPSHOT_MODELS = [
    Tenant,
    Customer,
    ContactPoint,
    CustomerAddress,
    ExternalIdentity,
    Tag,
    CustomerTag,
    Note,
    TimelineEvent,
    OutboxEvent,
    ApiKey,
    CommunicationConsent,
    ConsentChange,
    CustomerMerge,
    CustomerIdentifier,
    IdentifierType,
    IdempotencyRecord,
    DataSubjectRequest,
    ErasureRecord,
    CustomerPreference,
    LoyaltyProgram,
    LoyaltyTier,
    LoyaltyRule,
    LoyaltyAccount,
    LoyaltyTransaction,
    Pet,
    PetOwner,
    Segment,
    SegmentMembership,
    Interaction,
    WebhookEndpoint,
    WebhookDelivery,
    WebhookAttempt,
    CustomerInsight,
    InsightRun,
]


def snapshot() -> dict[str, list[dict]]:
    """Every row the API can write, field by field (when a key was last used is a hint only)."""
    rows = {}
    for model in SNAPSHOT_MODELS:
        fields = [f.attname for f in model._meta.concrete_fields if f.name != "last_used_at"]
        rows[model.__name__] = list(model.objects.order_by("pk").values(*fields))
    return rows


def fill(path: str, parameters: dict[str, str]) -> str:
    missing = set(PATH_PARAMETER.findall(path)) - set(parameters)
    if missing:
        pytest.fail(
            f"{path}: add a record of the default tenant for {sorted(missing)} to the "
            "`records` fixture of tests/test_cross_tenant.py"
        )
    return PATH_PARAMETER.sub(lambda match: quote(parameters[match.group(1)]), path)


def body_for(method: str, path: str):
    operation = PATHS[path][method.lower()]
    if "requestBody" not in operation:
        return None
    if (method, path) not in SAMPLE_BODIES:
        pytest.fail(f"Add a valid sample body for {method} {path} to SAMPLE_BODIES")
    return SAMPLE_BODIES[(method, path)]


def send(client, method: str, url: str, body):
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    if method == "POST":
        return client.post(url, body)
    if method == "PATCH":
        return client.patch(url, body)
    if method == "PUT":  # the shared ApiClient has no put()
        return client.client.put(
            client._url(url),
            json.dumps(body),
            content_type="application/json",
            headers=client._headers(None),
        )
    pytest.fail(f"Teach tests/test_cross_tenant.py to send {method}")


def each(operations: list[tuple[str, str]]) -> list:
    return [pytest.param(method, path, id=f"{method} {path}") for method, path in operations]


@pytest.mark.parametrize(("method", "path"), each(ID_OPERATIONS))
def test_another_tenants_key_gets_404_and_changes_nothing_where_the_owner_succeeds(
    records, other_api, admin_api, method, path
):
    url = fill(path, records.parameters)
    body = body_for(method, path)
    before = snapshot()

    response = send(other_api, method, url, body)

    assert response.status_code == 404, (method, url, response.content)
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert set(error) == {"code", "message", "fields"}
    assert snapshot() == before

    # The same call by the owner succeeds: the ids and bodies are real, so the 404 is tenancy.
    parameters = {
        **records.parameters,
        **{
            name: records.parameters[other]
            for name, other in OWNER_PARAMETERS.get((method, path), {}).items()
        },
    }
    response = send(admin_api, method, fill(path, parameters), body)

    assert 200 <= response.status_code < 300, (method, path, response.content)


# Path parameters that name a slot on a customer (a preference's category and key, a consent
# channel), not a record: another tenant may fill the same slot on its own customer.
SLOT_PARAMETERS = {"code", "category", "key", "channel"}


@pytest.mark.parametrize(
    ("method", "path"),
    each(
        [
            (m, p)
            for m, p in ID_OPERATIONS
            if "{code}" in p and set(PATH_PARAMETER.findall(p)) - SLOT_PARAMETERS
        ]
    ),
)
def test_own_customer_with_another_tenants_record_gets_404(records, other_api, method, path):
    """The other tenant's own customer code does not unlock the default tenant's records."""
    url = fill(path, {**records.parameters, "code": "THEIRS-1"})
    body = body_for(method, path)
    before = snapshot()

    response = send(other_api, method, url, body)

    assert response.status_code == 404, (method, url, response.content)
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot() == before


def test_every_sample_body_belongs_to_a_route():
    for method, path in SAMPLE_BODIES:
        assert "requestBody" in PATHS.get(path, {}).get(method.lower(), {}), (method, path)


def test_every_id_route_is_covered():
    assert len(ID_OPERATIONS) >= 20
    for method, path in ID_OPERATIONS:
        fill(path, {name: "x" for name in PATH_PARAMETER.findall(path)})
        if "requestBody" in PATHS[path][method.lower()]:
            assert (method, path) in SAMPLE_BODIES


def leaked(response, records: Records) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode().lower()
    return [needle for needle in records.texts if needle.lower() in text]


@pytest.mark.parametrize(("method", "path"), each(LIST_OPERATIONS))
def test_another_tenants_lists_never_show_the_default_tenants_rows(
    records, other_api, method, path
):
    response = other_api.get(fill(path, KIND_PARAMETERS), LIST_PARAMETERS.get(path))

    assert response.status_code == 200, response.content
    assert leaked(response, records) == []


@pytest.mark.parametrize(
    "params",
    [
        {"type": "instagram", "value": f"@{MARK}_ada"},
        {"type": "email", "value": "qwertz@example.com"},
        {"type": "phone", "value": "+2348031234567"},
    ],
)
def test_another_tenants_lookup_never_finds_the_default_tenants_customer(
    records, api, other_api, params
):
    assert api.get("/identifiers/lookup", params).status_code == 200

    response = other_api.get("/identifiers/lookup", params)

    assert response.status_code == 404
    assert "qwertz-1" not in response.content.decode().lower()  # the message echoes the value


@pytest.mark.parametrize(
    "params",
    [
        {"q": MARK},
        {"q": "QWERTZ-1"},
        {"q": "8031234567"},
        {"email": "qwertz@example.com"},
        {"phone": "+2348031234567"},
        {"tag": f"{MARK} VIP"},
        {"referred_by": "QWERTZ-REFERRER"},
        {"customer_type": "vip"},
        {"source": "pos"},
        {"archived": "true"},
        {"order_by": "last_name", "limit": 1},
    ],
)
def test_another_tenants_customer_filters_never_reach_the_default_tenant(
    records, other_api, params
):
    response = other_api.get("/customers", params)

    assert response.status_code == 200
    assert leaked(response, records) == []


def test_another_tenants_lists_show_their_own_rows(records, other_api):
    names = {item["first_name"] for item in other_api.get("/customers").json()["items"]}
    assert names == {"Theirs", "Theirs too"}
    assert [tag["name"] for tag in other_api.get("/tags").json()] == ["Their tag"]
    assert [row["code"] for row in other_api.get("/referrals/top").json()] == ["THEIRS-1"]
    # Two customers created, one tagged, one enrolled in loyalty
    assert len(other_api.get("/activity").json()["items"]) == 4
    assert [key["name"] for key in other_api.get("/api-keys").json()] == ["other tenant key"]


def test_another_tenants_cursor_does_not_reach_the_default_tenant(records, api, other_api):
    cursor = api.get("/customers", {"limit": 1}).json()["next_cursor"]

    response = other_api.get("/customers", {"cursor": cursor})

    assert response.status_code == 200
    assert leaked(response, records) == []


def test_another_tenant_cannot_refer_to_or_tag_with_the_default_tenants_rows(records, other_api):
    before = Customer.objects.filter(tenant__slug="default").count()

    referred = other_api.post("/customers", {"first_name": "Sneaky", "referred_by": "QWERTZ-1"})
    tagged = other_api.post("/customers/THEIRS-1/tags", {"tags": [f"{MARK} VIP"]})

    assert referred.status_code == 422
    assert set(referred.json()["error"]["fields"]) == {"referred_by"}
    assert tagged.status_code == 200
    other_tag = Tag.objects.get(tenant__slug="other-shop", name=f"{MARK} VIP")
    default_tag = Tag.objects.get(tenant__slug="default", name=f"{MARK} VIP")
    assert other_tag.pk != default_tag.pk
    assert default_tag.customer_tags.count() == 1
    assert Customer.objects.filter(tenant__slug="default").count() == before
