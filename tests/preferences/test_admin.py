"""The preference admin: writes go through PreferenceService, bad input is a form error."""

import pytest
from django.urls import reverse

from rapport.events.models import OutboxEvent
from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def url(view: str, *args) -> str:
    return reverse(f"admin:rapport_preferences_customerpreference_{view}", args=args)


def form(customer, **fields) -> dict:
    return {
        "customer": str(customer.pk),
        "category": "diet",
        "key": "milk",
        "value": '"oat"',
        "preference_type": "explicit",
        "confidence": "1.00",
        "source": "",
        **fields,
    }


def test_adding_goes_through_the_service(admin_client, admin_user, customer, tenant):
    response = admin_client.post(url("add"), form(customer, value='["oat", "soy"]'))

    assert response.status_code == 302, response.context and response.context["errors"]
    preference = CustomerPreference.objects.get()
    assert (preference.tenant, preference.customer, preference.value) == (
        tenant,
        customer,
        ["oat", "soy"],
    )
    event = TimelineEvent.objects.filter(customer=customer).latest("created_at")
    assert (event.title, event.actor) == ("Preference set: diet/milk", f"user:{admin_user}")
    assert OutboxEvent.objects.filter(type="preference.updated").count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": "Diet"}, "category"),
        ({"value": "1e999"}, "value"),
        ({"preference_type": "inferred", "confidence": "0.50", "key": "Milk"}, "key"),
        ({"confidence": "0.50"}, "confidence"),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(admin_client, customer, fields, field):
    response = admin_client.post(url("add"), form(customer, **fields))

    assert response.status_code == 200
    form_errors = response.context["adminform"].form.errors
    assert field in form_errors or any(field in str(e).lower() for e in form_errors.values())
    assert CustomerPreference.objects.count() == 0
    assert not OutboxEvent.objects.filter(type__startswith="preference.").exists()


def test_changing_goes_through_the_service(admin_client, actor, customer):
    preference = PreferenceService.set_preference(
        actor=actor, code="ADA-1", category="diet", key="milk", value="oat"
    )

    response = admin_client.post(
        url("change", preference.pk),
        {"value": '"soy"', "preference_type": "restriction", "confidence": "1.00", "source": "x"},
    )

    assert response.status_code == 302
    preference.refresh_from_db()
    assert (preference.value, preference.preference_type, preference.source) == (
        "soy",
        "restriction",
        "x",
    )
    assert OutboxEvent.objects.filter(type="preference.updated").count() == 2


def test_deleting_goes_through_the_service(admin_client, actor, customer):
    preference = PreferenceService.set_preference(
        actor=actor, code="ADA-1", category="diet", key="milk", value="oat"
    )

    response = admin_client.post(url("delete", preference.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not CustomerPreference.objects.exists()
    assert OutboxEvent.objects.filter(type="preference.deleted").count() == 1
