"""Reading and writing customer preferences: explicit, inferred and restrictions."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer
from rapport.customers.normalization import is_plain_json
from rapport.customers.services import find_customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.preferences import conf
from rapport.preferences.models import CustomerPreference, PreferenceType
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SLUG_RULE = "Use a lower-case slug: a-z, 0-9, '-' and '_', starting with a letter or digit"
CERTAIN = Decimal("1.00")
TYPE_WORDS = {
    PreferenceType.EXPLICIT: "Preference",
    PreferenceType.INFERRED: "Inferred preference",
    PreferenceType.RESTRICTION: "Restriction",
}


def _slug_error(name: str, text: Any) -> str | None:
    if not isinstance(text, str) or not text:
        return "Required"
    if len(text) > conf.SLUG_LIMIT:
        return f"At most {conf.SLUG_LIMIT} characters"
    if not SLUG.match(text):
        return SLUG_RULE
    return None


def _clean_confidence(preference_type: str, confidence: Any) -> tuple[Decimal | None, str | None]:
    """The confidence to store, or the reason it cannot be (None, message)."""
    if confidence is None:
        if preference_type == PreferenceType.INFERRED:
            return None, "Required for an inferred preference: from 0.00 to 1.00"
        return CERTAIN, None
    if isinstance(confidence, bool):
        return None, "A number from 0.00 to 1.00"
    try:
        number = Decimal(str(confidence))
    except (InvalidOperation, ValueError):
        return None, "A number from 0.00 to 1.00"
    if not number.is_finite() or not Decimal(0) <= number <= CERTAIN:
        return None, "A number from 0.00 to 1.00"
    if number != number.quantize(Decimal("0.01")):
        return None, "At most two decimal places"
    if preference_type != PreferenceType.INFERRED and number != CERTAIN:
        return None, "Explicit preferences and restrictions are certain: send 1.00 or leave it out"
    return number.quantize(Decimal("0.01")), None


def clean_preference(
    *,
    category: Any,
    key: Any,
    value: Any,
    preference_type: Any,
    confidence: Any,
    source: Any,
) -> dict[str, Any]:
    """The fields as stored; InvalidInput naming every field that breaks a rule."""
    errors: dict[str, str] = {}
    for name, text in (("category", category), ("key", key)):
        if message := _slug_error(name, text):
            errors[name] = message
    if value is None:
        errors["value"] = "Required: true, a word, a number, a list or an object"
    elif not is_plain_json(value):
        errors["value"] = "Plain JSON only: finite numbers, integers within 64 bits"
    elif len(orjson.dumps(value)) > conf.VALUE_BYTES_LIMIT:
        errors["value"] = f"At most {conf.VALUE_BYTES_LIMIT} bytes as JSON"
    if preference_type not in PreferenceType.values:
        errors["preference_type"] = f"Use one of {', '.join(PreferenceType.values)}"
    else:
        confidence, message = _clean_confidence(preference_type, confidence)
        if message:
            errors["confidence"] = message
    if not isinstance(source, str) or "\x00" in source:
        errors["source"] = "Text"
    elif len(source.strip()) > conf.SOURCE_LIMIT:
        errors["source"] = f"At most {conf.SOURCE_LIMIT} characters"
    if errors:
        raise InvalidInput("The preference is not valid", fields=errors)
    return {
        "category": category,
        "key": key,
        "value": value,
        "preference_type": preference_type,
        "confidence": confidence,
        "source": source.strip(),
    }


def _customer(tenant: Tenant, code: str, *, for_update: bool = False) -> Customer:
    customer = find_customer(tenant, code, for_update=for_update)
    if customer is None:
        raise NotFound(f"No customer with code {code!r}")
    return customer


def _not_found(category: str, key: str) -> NotFound:
    return NotFound(f"The customer has no preference {category}/{key}")


def _publish(kind: str, preference: CustomerPreference, customer: Customer, actor: Actor) -> None:
    # Values stay out of titles and payloads: a restriction's value may be health data.
    where = f"{preference.category}/{preference.key}"
    word = TYPE_WORDS[PreferenceType(preference.preference_type)]
    hooks.publish(
        CustomerChange(
            kind=kind,
            customer=customer,
            actor=actor,
            detail={
                "category": preference.category,
                "key": preference.key,
                "preference_type": preference.preference_type,
            },
            title=f"{word} set: {where}"
            if kind == "preference_set"
            else f"{word} removed: {where}",
            timeline_type="profile",
            event="preference.updated" if kind == "preference_set" else "preference.deleted",
        )
    )


def _json(value: Any) -> bytes:
    # Compared as JSON text: in Python True == 1 == 1.0, which are three different values.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _same(preference: CustomerPreference, fields: dict[str, Any]) -> bool:
    return (
        _json(preference.value) == _json(fields["value"])
        and preference.preference_type == fields["preference_type"]
        and preference.confidence == fields["confidence"]
        and preference.source == fields["source"]
    )


class PreferenceService:
    """The seed's preference service: one value per (customer, category, key)."""

    @staticmethod
    def get_preference(*, tenant: Tenant, code: str, category: str, key: str) -> CustomerPreference:
        """One preference of the tenant's customer; NotFound when either is missing."""
        preference = CustomerPreference.objects.filter(
            customer=_customer(tenant, code), category=category, key=key
        ).first()
        if preference is None:
            raise _not_found(category, key)
        return preference

    @staticmethod
    def get_preferences(
        *,
        tenant: Tenant,
        code: str,
        category: str | None = None,
        preference_type: str | None = None,
    ) -> QuerySet:
        """A customer's preferences by category and key, optionally of one category or type."""
        if preference_type is not None and preference_type not in PreferenceType.values:
            raise InvalidInput(
                "Unknown preference type",
                fields={"preference_type": f"Use one of {', '.join(PreferenceType.values)}"},
            )
        preferences = CustomerPreference.objects.filter(customer=_customer(tenant, code))
        if category is not None:
            preferences = preferences.filter(category=category)
        if preference_type is not None:
            preferences = preferences.filter(preference_type=preference_type)
        return preferences.order_by("category", "key")

    @staticmethod
    def get_preferences_dict(
        *, tenant: Tenant, code: str, preference_type: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """A customer's preferences as {category: {key: value}}, categories and keys sorted."""
        nested: dict[str, dict[str, Any]] = {}
        rows = PreferenceService.get_preferences(
            tenant=tenant, code=code, preference_type=preference_type
        ).values_list("category", "key", "value")
        for category, key, value in rows:
            nested.setdefault(category, {})[key] = value
        return nested

    @staticmethod
    def get_restrictions(*, tenant: Tenant, code: str) -> QuerySet:
        """Only the hard constraints (allergies, diets): what must be checked before serving."""
        return PreferenceService.get_preferences(
            tenant=tenant, code=code, preference_type=PreferenceType.RESTRICTION
        )

    @staticmethod
    def set_preference(
        *,
        actor: Actor,
        code: str,
        category: str,
        key: str,
        value: Any,
        preference_type: str = PreferenceType.EXPLICIT,
        confidence: Decimal | float | str | None = None,
        source: str = "",
    ) -> CustomerPreference:
        """Create or replace a preference; the same fields again change and log nothing."""
        fields = clean_preference(
            category=category,
            key=key,
            value=value,
            preference_type=preference_type,
            confidence=confidence,
            source=source,
        )
        stored = ("value", "preference_type", "confidence", "source")
        with transaction.atomic():
            # The customer's row serializes writers, so two setting one new key make one row.
            customer = _customer(actor.tenant, code, for_update=True)
            preference = CustomerPreference.objects.filter(
                customer=customer, category=category, key=key
            ).first()
            if preference is None:
                if customer.preferences.count() >= conf.PREFERENCES_PER_CUSTOMER:
                    raise Conflict(
                        f"The customer already has {conf.PREFERENCES_PER_CUSTOMER} preferences",
                        fields={"key": "Delete a preference before adding another"},
                    )
                try:
                    with transaction.atomic():
                        preference = CustomerPreference.objects.create(
                            tenant=actor.tenant, customer=customer, **fields
                        )
                except IntegrityError:
                    raise Conflict(
                        f"The preference {category}/{key} was set at the same time; try again",
                        fields={"key": "Set at the same time by another request"},
                    ) from None
            elif _same(preference, fields):
                return preference
            else:
                for name in stored:
                    setattr(preference, name, fields[name])
                preference.save(update_fields=[*stored, "updated_at"])
            _publish("preference_set", preference, customer, actor)
        return preference

    @staticmethod
    def delete_preference(*, actor: Actor, code: str, category: str, key: str) -> None:
        """Remove a preference for good (a hard delete); NotFound if it is not there."""
        with transaction.atomic():
            customer = _customer(actor.tenant, code, for_update=True)
            preference = CustomerPreference.objects.filter(
                customer=customer, category=category, key=key
            ).first()
            if preference is None:
                raise _not_found(category, key)
            preference.delete()
            _publish("preference_deleted", preference, customer, actor)
