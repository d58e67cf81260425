"""The Django admin: every page answers, writes go through the services, ledgers stay read-only."""

import hashlib

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.customers.models import (
    ContactPoint,
    Customer,
    CustomerAddress,
    CustomerTag,
    ExternalIdentity,
    Note,
    Tag,
)
from rapport.customers.services import AddressService, NoteService, TagService
from rapport.events.models import OutboxEvent
from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.privacy.services import DataSubjectRequestService, PrivacyService
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import ApiKey, IdempotencyRecord, Tenant
from rapport.timeline.models import TimelineEvent


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def management_data(response) -> dict:
    """The management forms of every inline on an admin page, with no rows filled in."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        prefix = formset.prefix
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return data


def customer_form(admin_client, tenant, **fields) -> dict:
    page = admin_client.get(url(Customer, "add"))
    assert page.status_code == 200
    return {"tenant": str(tenant.pk), "metadata": "{}", **management_data(page), **fields}


@pytest.fixture
def records(tenant, make_customer, make_key, admin_user):
    """One row of every model the admin shows, all in the default tenant."""
    actor = Actor(tenant=tenant, user=admin_user)
    referrer = make_customer(first_name="Ada")
    customer = make_customer(first_name="Bola", phone="08031234567", referred_by=referrer.code)
    TagService.add_tags(actor=actor, code=customer.code, names=["VIP"])
    NoteService.add_note(actor=actor, code=customer.code, content="Prefers mornings")
    AddressService.add_address(actor=actor, code=customer.code, line1="1 Marina", city="Lagos")
    ContactPoint.objects.create(
        tenant=tenant, customer=customer, type="phone", value="+2348031234567"
    )
    ExternalIdentity.objects.create(
        tenant=tenant, customer=customer, provider="shop", external_id="42"
    )
    api_key, _ = make_key(tenant, ["read"])
    PreferenceService.set_preference(
        actor=actor, code=customer.code, category="diet", key="milk", value="oat"
    )
    IdempotencyRecord.objects.create(
        tenant=tenant, key="k1", fingerprint="f", method="POST", path="/api/v1/customers"
    )
    erased = make_customer(first_name="Erased")
    DataSubjectRequestService.open_request(actor=actor, kind="erasure", customer_code=erased.code)
    PrivacyService.erase_customer(actor=actor, code=erased.code)
    return {
        Tenant: tenant,
        ApiKey: api_key,
        IdempotencyRecord: IdempotencyRecord.objects.get(),
        Customer: customer,
        Tag: Tag.objects.get(),
        CustomerTag: CustomerTag.objects.get(),
        Note: Note.objects.get(),
        CustomerAddress: CustomerAddress.objects.get(),
        ContactPoint: ContactPoint.objects.get(),
        ExternalIdentity: ExternalIdentity.objects.get(),
        TimelineEvent: TimelineEvent.objects.filter(customer=customer).first(),
        OutboxEvent: OutboxEvent.objects.first(),
        DataSubjectRequest: DataSubjectRequest.objects.get(),
        ErasureRecord: ErasureRecord.objects.get(),
        CustomerPreference: CustomerPreference.objects.get(),
    }


# --- every page answers ----------------------------------------------------------------------


def test_every_core_model_is_registered():
    assert set(admin.site._registry) >= {
        Tenant,
        ApiKey,
        IdempotencyRecord,
        Customer,
        Tag,
        CustomerTag,
        Note,
        CustomerAddress,
        ContactPoint,
        ExternalIdentity,
        TimelineEvent,
        OutboxEvent,
        DataSubjectRequest,
        ErasureRecord,
        CustomerPreference,
    }


@pytest.mark.parametrize(
    "model",
    [
        Tenant,
        ApiKey,
        IdempotencyRecord,
        Customer,
        Tag,
        CustomerTag,
        Note,
        CustomerAddress,
        ContactPoint,
        ExternalIdentity,
        TimelineEvent,
        OutboxEvent,
        DataSubjectRequest,
        ErasureRecord,
        CustomerPreference,
    ],
    ids=lambda model: model.__name__,
)
def test_changelist_add_and_change_pages_answer(admin_client, records, model):
    obj = records[model]
    model_admin = admin.site._registry[model]

    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "changelist"), {"q": "Bola"}).status_code == 200
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200
    add = admin_client.get(url(model, "add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)


def test_customer_autocomplete_answers(admin_client, records):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "Ada",
            "app_label": "rapport_customers",
            "model_name": "customer",
            "field_name": "referred_by",
        },
    )
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["Ada"]


# --- customers -----------------------------------------------------------------------------


def test_customer_changelist_queries_do_not_grow_with_rows(admin_client, tenant, make_customer):
    referrer = make_customer(first_name="Root")
    for _ in range(2):
        make_customer(referred_by=referrer.code)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url(Customer, "changelist")).status_code == 200

    for _ in range(27):
        make_customer(referred_by=referrer.code)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url(Customer, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 30

    assert len(many.captured_queries) == len(few.captured_queries)


def test_customer_search_finds_a_phone_typed_the_local_way(admin_client, make_customer):
    customer = make_customer(phone="+2348031234567")
    make_customer(phone="+2348039999999")

    response = admin_client.get(url(Customer, "changelist"), {"q": "0803 123 4567"})

    assert [row.pk for row in response.context["cl"].result_list] == [customer.pk]


def test_adding_a_customer_normalizes_the_phone_and_writes_the_timeline(
    admin_client, admin_user, tenant
):
    data = customer_form(admin_client, tenant, phone="0803 123 4567", first_name="Chioma")

    response = admin_client.post(url(Customer, "add"), data)

    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.phone == "+2348031234567"
    assert customer.tenant == tenant
    assert len(customer.code) == 10
    event = TimelineEvent.objects.get(customer=customer)
    assert event.title == "Customer created"
    assert event.actor == f"user:{admin_user.username}"
    assert list(OutboxEvent.objects.values_list("type", flat=True)) == ["customer.created"]


def test_a_bad_phone_is_a_form_error_and_writes_nothing(admin_client, tenant):
    data = customer_form(admin_client, tenant, phone="12345", first_name="Chioma")

    response = admin_client.post(url(Customer, "add"), data)

    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert Customer.objects.count() == 0
    assert TimelineEvent.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_a_customer_needs_a_name_email_or_phone(admin_client, tenant):
    response = admin_client.post(url(Customer, "add"), customer_form(admin_client, tenant))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"] == [
        "Give a name, an email or a phone number"
    ]
    assert Customer.objects.count() == 0


def test_inline_tags_and_notes_go_through_the_services(admin_client, tenant, admin_user):
    tag = Tag.objects.create(tenant=tenant, name="VIP")
    data = customer_form(admin_client, tenant, first_name="Dayo")
    data.update(
        {
            "customer_tags-TOTAL_FORMS": "1",
            "customer_tags-0-tag": str(tag.pk),
            "notes-TOTAL_FORMS": "1",
            "notes-0-content": "Allergic to penicillin",
            "notes-0-is_private": "on",
        }
    )

    response = admin_client.post(url(Customer, "add"), data)

    assert response.status_code == 302
    customer = Customer.objects.get()
    assert [link.tag for link in customer.customer_tags.all()] == [tag]
    note = customer.notes.get()
    assert (note.is_private, note.author_user) == (True, admin_user)
    assert sorted(TimelineEvent.objects.values_list("title", flat=True)) == [
        "Customer created",
        "Private note added",
        "Tagged VIP",
    ]
    assert sorted(OutboxEvent.objects.values_list("type", flat=True)) == [
        "customer.created",
        "customer.tagged",
    ]


def test_inline_contact_points_and_identities_go_through_the_services(admin_client, tenant):
    data = customer_form(admin_client, tenant, first_name="Dayo")
    data.update(
        {
            "contact_points-TOTAL_FORMS": "1",
            "contact_points-0-type": "whatsapp",
            "contact_points-0-value": "0803 123 4567",
            "external_identities-TOTAL_FORMS": "1",
            "external_identities-0-provider": "Shopify",
            "external_identities-0-external_id": "7712",
            "external_identities-0-metadata": "{}",
        }
    )

    response = admin_client.post(url(Customer, "add"), data)

    assert response.status_code == 302
    customer = Customer.objects.get()
    contact_point = customer.contact_points.get()
    assert (contact_point.value, contact_point.is_primary) == ("+2348031234567", True)
    assert contact_point.tenant == tenant
    identity = customer.external_identities.get()
    assert (identity.provider, identity.external_id, identity.tenant) == ("shopify", "7712", tenant)
    assert sorted(TimelineEvent.objects.values_list("title", flat=True)) == [
        "Contact point added: WhatsApp +2348031234567",
        "Customer created",
        "Linked to shopify as 7712",
    ]


def test_a_bad_inline_contact_point_is_a_form_error_and_writes_nothing(admin_client, tenant):
    data = customer_form(admin_client, tenant, first_name="Dayo")
    data.update(
        {
            "contact_points-TOTAL_FORMS": "1",
            "contact_points-0-type": "phone",
            "contact_points-0-value": "12345",
        }
    )

    response = admin_client.post(url(Customer, "add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any(error.startswith("Value: ") for error in errors)
    assert Customer.objects.count() == 0
    assert ContactPoint.objects.count() == 0
    assert TimelineEvent.objects.count() == 0


def test_verifying_a_contact_point_in_the_admin_goes_through_the_service(admin_client, records):
    contact_point = records[ContactPoint]

    response = admin_client.post(
        url(ContactPoint, "change", contact_point.pk),
        {"is_primary": "on", "is_verified": "on"},
    )

    assert response.status_code == 302
    contact_point.refresh_from_db()
    assert contact_point.is_verified is True
    assert contact_point.verified_at is not None
    assert TimelineEvent.objects.filter(metadata__kind="contact_point_updated").count() == 1


def test_changing_a_customer_goes_through_update_customer(admin_client, tenant, make_customer):
    customer = make_customer(first_name="Efe", phone="+2348031234567")
    page = admin_client.get(url(Customer, "change", customer.pk))
    form = page.context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    data.update(management_data(page), metadata="{}", last_name="Okoro", email="EFE@Example.com")
    data.pop("referred_by", None)

    response = admin_client.post(url(Customer, "change", customer.pk), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.last_name, customer.email) == ("Okoro", "efe@example.com")
    updated = OutboxEvent.objects.get(type="customer.updated")
    assert set(updated.data["changes"]) == {"last_name", "email"}


def test_archive_action_uses_the_service(admin_client, make_customer):
    customer = make_customer(first_name="Femi")

    response = admin_client.post(
        url(Customer, "changelist"),
        {"action": "archive_customers", "_selected_action": [customer.pk]},
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.is_archived
    assert OutboxEvent.objects.filter(type="customer.archived").count() == 1


def test_deleting_a_customer_through_the_admin_emits_the_event(admin_client, make_customer):
    customer = make_customer(first_name="Gbenga")
    assert TimelineEvent.objects.filter(customer=customer).exists()

    response = admin_client.post(url(Customer, "delete", customer.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Customer.objects.exists()
    assert OutboxEvent.objects.filter(type="customer.deleted").count() == 1


def test_tag_changelist_counts_customers(admin_client, tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    for _ in range(3):
        TagService.add_tags(actor=actor, code=make_customer().code, names=["VIP"])

    response = admin_client.get(url(Tag, "changelist"))

    assert [tag.customer_count for tag in response.context["cl"].result_list] == [3]


def test_a_duplicate_tag_name_is_a_form_error(admin_client, tenant):
    Tag.objects.create(tenant=tenant, name="VIP")

    response = admin_client.post(
        url(Tag, "add"), {"tenant": tenant.pk, "name": "vip", "color": "#ffc107", "is_active": "on"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == ["Already taken"]
    assert Tag.objects.count() == 1


# --- the ledgers are read-only -------------------------------------------------------------


def test_timeline_events_cannot_be_added_changed_or_deleted(admin_client, make_customer):
    customer = make_customer(first_name="Halima")
    event = TimelineEvent.objects.get(customer=customer)

    assert admin_client.get(url(TimelineEvent, "add")).status_code == 403
    changed = admin_client.post(url(TimelineEvent, "change", event.pk), {"title": "Rewritten"})
    assert changed.status_code == 403
    assert admin_client.get(url(TimelineEvent, "delete", event.pk)).status_code == 403
    assert (
        admin_client.post(url(TimelineEvent, "delete", event.pk), {"post": "yes"}).status_code
        == 403
    )
    bulk = admin_client.post(
        url(TimelineEvent, "changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)

    event.refresh_from_db()
    assert event.title == "Customer created"


def test_outbox_events_cannot_be_changed(admin_client, make_customer):
    make_customer(first_name="Ify")
    event = OutboxEvent.objects.get()

    assert (
        admin_client.post(url(OutboxEvent, "change", event.pk), {"type": "x.y"}).status_code == 403
    )
    assert admin_client.get(url(OutboxEvent, "delete", event.pk)).status_code == 403


# --- API keys ------------------------------------------------------------------------------


def test_creating_an_api_key_shows_the_secret_once_and_stores_only_its_hash(admin_client, tenant):
    response = admin_client.post(
        url(ApiKey, "add"), {"tenant": tenant.pk, "name": "till", "scopes": ["write"]}, follow=True
    )

    assert response.status_code == 200
    api_key = ApiKey.objects.get()
    secrets = [
        word
        for message in get_messages(response.wsgi_request)
        for word in str(message).replace("<code>", " ").replace("</code>", " ").split()
        if word.startswith("rk_")
    ]
    assert len(secrets) == 1
    secret = secrets[0]
    assert secret.split("_")[1] == api_key.prefix
    assert api_key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert api_key.scopes == ["write"]
    stored = [str(value) for value in ApiKey.objects.values().get().values()]
    assert secret not in stored

    for page in (url(ApiKey, "changelist"), url(ApiKey, "change", api_key.pk)):
        body = admin_client.get(page).content.decode()
        assert secret not in body
        assert api_key.key_hash not in body


def test_an_api_key_without_scopes_is_a_form_error(admin_client, tenant):
    response = admin_client.post(url(ApiKey, "add"), {"tenant": tenant.pk, "name": "till"})

    assert response.status_code == 200
    assert "scopes" in response.context["adminform"].form.errors
    assert ApiKey.objects.count() == 0


def test_the_revoke_action_revokes_keys(admin_client, tenant, make_key):
    api_key, _ = make_key(tenant, ["read"])

    response = admin_client.post(
        url(ApiKey, "changelist"), {"action": "revoke_keys", "_selected_action": [api_key.pk]}
    )

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


# --- tenants -------------------------------------------------------------------------------


def test_adding_a_tenant_goes_through_the_service(admin_client, db):
    response = admin_client.post(
        url(Tenant, "add"),
        {
            "name": "Accra shop",
            "slug": "accra",
            "country": "gh",
            "currency": "GHS",
            "timezone": "Africa/Accra",
            "default_language": "en",
            "default_phone_region": "",
        },
    )

    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="accra")
    assert (tenant.country, tenant.default_phone_region) == ("GH", "GH")


def test_a_tenant_with_an_unknown_currency_is_a_form_error(admin_client, db):
    response = admin_client.post(
        url(Tenant, "add"),
        {
            "name": "Nowhere",
            "slug": "nowhere",
            "country": "NG",
            "currency": "XXY",
            "timezone": "Africa/Lagos",
            "default_language": "en",
        },
    )

    assert response.status_code == 200
    assert "currency" in response.context["adminform"].form.errors
    assert not Tenant.objects.filter(slug="nowhere").exists()


# --- merges: read-only records, undone through the service ---------------------------------


@pytest.fixture
def merge(tenant, make_customer):
    from rapport.identity.services import MergeService

    make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(code="DUP", first_name="Ada", last_name="Obi", email="ada@example.com")
    return MergeService.merge(
        actor=Actor.for_system(tenant, "tests"), survivor="KEEP", duplicate="DUP"
    )


def test_merge_pages_answer_and_are_read_only(admin_client, merge):
    from rapport.identity.models import CustomerMerge

    assert admin_client.get(url(CustomerMerge, "changelist")).status_code == 200
    assert admin_client.get(url(CustomerMerge, "changelist"), {"q": "DUP"}).status_code == 200
    assert admin_client.get(url(CustomerMerge, "change", merge.pk)).status_code == 200
    assert admin_client.get(url(CustomerMerge, "add")).status_code == 403
    deleted = admin_client.post(url(CustomerMerge, "delete", merge.pk), {"post": "yes"})
    assert deleted.status_code == 403
    assert CustomerMerge.objects.count() == 1


def test_the_undo_action_goes_through_the_service(admin_client, admin_user, merge):
    from rapport.identity.models import CustomerMerge

    response = admin_client.post(
        url(CustomerMerge, "changelist"),
        {"action": "undo_merges", "_selected_action": [merge.pk]},
    )

    assert response.status_code == 302
    merge.refresh_from_db()
    assert merge.undone_by == f"user:{admin_user.username}"
    assert Customer.objects.get(code="DUP").merged_into is None
    assert OutboxEvent.objects.filter(type="customer.unmerged").count() == 1

    again = admin_client.post(
        url(CustomerMerge, "changelist"),
        {"action": "undo_merges", "_selected_action": [merge.pk]},
        follow=True,
    )

    assert [m.message for m in get_messages(again.wsgi_request)][-1] == (
        "DUP → KEEP: This merge was already undone"
    )
    assert OutboxEvent.objects.filter(type="customer.unmerged").count() == 1


# --- identifiers and identifier types: written through the identity services ---------------


def test_identifier_pages_answer_and_writes_go_through_the_service(
    admin_client, tenant, make_customer
):
    from rapport.identity.models import CustomerIdentifier, IdentifierType

    ada = make_customer(code="ADA", first_name="Ada")
    for model in (CustomerIdentifier, IdentifierType):
        assert admin_client.get(url(model, "changelist")).status_code == 200
        assert admin_client.get(url(model, "add")).status_code == 200

    added = admin_client.post(
        url(CustomerIdentifier, "add"),
        {"customer": ada.pk, "type": "whatsapp", "value": "0803 123 4567", "source": "pos"},
    )
    refused = admin_client.post(
        url(CustomerIdentifier, "add"), {"customer": ada.pk, "type": "whatsapp", "value": "x"}
    )

    assert added.status_code == 302
    identifier = CustomerIdentifier.objects.get()
    assert (identifier.value, identifier.is_primary, identifier.tenant) == (
        "+2348031234567",
        True,
        tenant,
    )
    assert OutboxEvent.objects.filter(type="customer.identifier_added").count() == 1
    assert refused.status_code == 200
    assert "value" in refused.context["adminform"].form.errors
    assert admin_client.get(url(CustomerIdentifier, "change", identifier.pk)).status_code == 200

    admin_client.post(url(CustomerIdentifier, "delete", identifier.pk), {"post": "yes"})
    assert not CustomerIdentifier.objects.exists()
    assert OutboxEvent.objects.filter(type="customer.identifier_removed").count() == 1


def test_identifier_types_are_added_through_the_service(admin_client, tenant):
    from rapport.identity.models import IdentifierType

    added = admin_client.post(
        url(IdentifierType, "add"),
        {"tenant": tenant.pk, "name": "loyalty_card", "label": "Card", "normalization": "text"},
    )
    built_in = admin_client.post(
        url(IdentifierType, "add"),
        {"tenant": tenant.pk, "name": "phone", "label": "", "normalization": "text"},
    )

    assert added.status_code == 302
    assert built_in.status_code == 200
    assert "name" in built_in.context["adminform"].form.errors
    card = IdentifierType.objects.get()
    assert admin_client.get(url(IdentifierType, "change", card.pk)).status_code == 200


def test_deleting_selected_types_is_all_or_nothing_when_one_is_in_use(
    admin_client, tenant, make_customer
):
    from rapport.identity.models import CustomerIdentifier, IdentifierType
    from rapport.identity.services import IdentifierService, IdentifierTypeService

    actor = Actor.for_system(tenant, "tests")
    unused = IdentifierTypeService.create_type(actor=actor, name="gift_card", label="Gift card")
    used = IdentifierTypeService.create_type(actor=actor, name="club_card", label="Club card")
    make_customer(code="ADA", first_name="Ada")
    IdentifierService.add_identifier(actor=actor, code="ADA", type="club_card", value="C-1")

    response = admin_client.post(
        url(IdentifierType, "changelist"),
        {"action": "delete_selected", "_selected_action": [unused.pk, used.pk], "post": "yes"},
        follow=True,
    )

    assert response.status_code == 200
    assert [m.message for m in get_messages(response.wsgi_request)][-1] == (
        "1 identifier is of type 'club_card'; remove it first"
    )
    assert IdentifierType.objects.count() == 2
    assert CustomerIdentifier.objects.count() == 1
