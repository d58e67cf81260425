"""Property-based fuzzing of every API operation, generated from the API's own OpenAPI schema.

Each operation gets positive and negative inputs through the real WSGI application, with an
admin key of a tenant holding a few customers, tags, notes and addresses. Whatever comes in,
the answer is never a 5xx, its status is one the operation declares, an error body has the
documented shape, an error leaves the database as it was, and nothing of another tenant shows.
"""

import json

import pytest
import schemathesis
from django.apps import apps
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from rapport.api import api
from rapport.customers import selectors
from rapport.customers.services import (
    AddressService,
    CustomerService,
    NoteService,
    TagService,
)
from rapport.tenancy.actors import Actor
from rapport.tenancy.services import ApiKeyService
from rapport.timeline.services import TimelineService
from rapport.wsgi import application

MAX_EXAMPLES = 6
OTHER_TENANT_MARKER = "Zebulon-Other-Tenant"
# Written on every request by design: replayable responses, and a last-used hint on keys.
VOLATILE_MODELS = {"rapport_tenancy.idempotencyrecord"}
VOLATILE_FIELDS = {"last_used_at"}

schema = schemathesis.openapi.from_dict(
    api.get_openapi_schema(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                # The key is sent below; `ignored_auth` tries requests without it.
                "with-security-parameters": False,
                # Unknown query parameters are ignored, as HTTP APIs commonly do.
                "allow-extra-parameters": False,
            },
            # Schema examples cannot feed the drawn path parameters below; fuzzing covers them.
            "phases": {"examples": {"enabled": False}},
        }
    ),
)
schema.app = application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@pytest.fixture
def known(tenant, other_tenant, make_key, make_customer):
    """The rows a request can name, by path parameter: the fuzzer sometimes uses them."""
    actor = Actor.for_system(tenant, "fuzz")
    _, secret = make_key(tenant, ["admin"], name="fuzz admin")
    ada = make_customer(code="ADA-1", first_name="Ada", last_name="Obi", email="ada@example.com")
    ben = make_customer(code="BEN-2", first_name="Ben", phone="+2348031234567", referred_by="ADA-1")
    make_customer(code="archived-3", first_name="Chi")
    CustomerService.archive_customer(actor=actor, code="archived-3")
    make_customer(
        tenant=other_tenant, code="OTHER-1", first_name=OTHER_TENANT_MARKER, last_name="Secret"
    )
    TagService.add_tags(actor=actor, code=ada.code, names=["VIP", "Dog owner"])
    TagService.add_tags(actor=actor, code=ben.code, names=["VIP"])
    notes = [
        NoteService.add_note(actor=actor, code=ada.code, content="Prefers mornings"),
        NoteService.add_note(actor=actor, code=ada.code, content="Allergic", is_pinned=True),
    ]
    address = AddressService.add_address(actor=actor, code=ada.code, line1="1 Marina", city="Lagos")
    TimelineService.log_event(
        customer=ada, actor=actor, event_type="visit", title="Came in", channel="in_person"
    )
    other_key, _ = ApiKeyService.create_key(tenant=tenant, name="reader", scopes=["read"])
    return {
        "secret": secret,
        "code": [ada.code, ben.code, "archived-3", "OTHER-1"],
        "note_id": [str(note.uuid) for note in notes],
        "tag_id": [str(tag.uuid) for tag in selectors.tag_list(tenant=tenant)],
        "tag_name": ["VIP", "vip", "Dog owner"],
        "address_id": [str(address.uuid)],
        "key_id": [str(other_key.uuid)],
    }


def _snapshot() -> dict:
    """Every rapport row, less what each request writes by design."""
    state = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if not label.startswith("rapport") or label in VOLATILE_MODELS:
            continue
        names = [
            field.attname
            for field in model._meta.concrete_fields
            if field.name not in VOLATILE_FIELDS
        ]
        state[label] = sorted(map(repr, model.objects.values_list(*names)))
    return state


def _changed(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


@pytest.mark.django_db(transaction=True)
@schema.given(data=st.data())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_no_input_breaks_the_api(case, data, known):
    # Given a path parameter, sometimes one naming a real row (or another tenant's)
    for name in case.path_parameters or {}:
        if name in known and data.draw(st.booleans(), label=f"use a known {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(known[name]), label=name)
    before = _snapshot()

    # When the request is sent with an admin key
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {known['secret']}"}, checks=CHECKS
    )

    # Then an error has the documented body and changed nothing
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "fields"}, body
        assert isinstance(body["error"]["code"], str), body
        assert isinstance(body["error"]["message"], str), body
        assert isinstance(body["error"]["fields"], dict), body
        assert _changed(before, _snapshot()) == [], body
    # And another tenant's customer never shows
    assert OTHER_TENANT_MARKER.encode() not in response.content


@pytest.mark.django_db(transaction=True)
def test_the_fuzzed_app_sees_the_fixture_rows(known):
    """The rows the fuzzer draws from are the ones the WSGI application reads."""
    headers = {"Authorization": f"Bearer {known['secret']}"}
    customer = schema["/api/v1/customers/{code}"]["GET"].Case(path_parameters={"code": "ADA-1"})
    notes = schema["/api/v1/customers/{code}/notes"]["GET"].Case(path_parameters={"code": "ADA-1"})
    other = schema["/api/v1/customers/{code}"]["GET"].Case(path_parameters={"code": "OTHER-1"})

    found = customer.call_and_validate(headers=headers, checks=CHECKS)
    listed = notes.call_and_validate(headers=headers, checks=CHECKS)
    hidden = other.call_and_validate(headers=headers, checks=CHECKS)

    assert found.status_code == 200
    assert found.json()["tags"] == ["Dog owner", "VIP"]
    assert [note["content"] for note in listed.json()["items"]] == ["Allergic", "Prefers mornings"]
    assert hidden.status_code == 404
