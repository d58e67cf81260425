"""REST endpoints of preferences: what each customer likes, avoids and must not be given."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.preferences.services import PreferenceService
from rapport.schemas import InputSchema, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["preferences"], auth=READ)

PreferenceTypeValue = Literal["explicit", "inferred", "restriction"]


class PreferenceOut(Schema):
    id: UUID = Field(alias="uuid")
    category: str
    key: str
    value: Any
    preference_type: str
    confidence: Decimal = Field(description='0.00 to 1.00, as a string such as "0.80"')
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PreferenceIn(InputSchema):
    """A preference's value and standing. Explicit ones and restrictions are certain (1.00)."""

    value: Any = Field(
        description="Plain JSON: true, a word, a number, a list or an object; not null",
        examples=[True, ["peanuts", "shellfish"], "oat"],
    )
    preference_type: PreferenceTypeValue = "explicit"
    confidence: Decimal | None = Field(
        None,
        ge=0,
        le=1,
        decimal_places=2,
        description="Required for inferred preferences; 1.00 (or left out) for the others",
        examples=["0.80"],
    )
    source: str = Field("", max_length=100, examples=["order_history", "chat", "form"])


class PreferenceQuery(Schema):
    category: str | None = Field(None, max_length=50, description="Only this category")
    preference_type: PreferenceTypeValue | None = Field(None, description="Only this type")


@router.get("/customers/{code}/preferences", response=responses({200: list[PreferenceOut]}, 404))
def list_preferences(request, code: str, query: Query[PreferenceQuery]):
    """The customer's preferences by category and key (a customer holds at most 200)."""
    return list(
        PreferenceService.get_preferences(
            tenant=actor_of(request).tenant, code=code, **query.model_dump()
        )
    )


@router.get(
    "/customers/{code}/preferences/by-category",
    response=responses({200: dict[str, dict[str, Any]]}, 404),
)
def get_preferences_by_category(request, code: str):
    """The customer's preferences as {category: {key: value}}."""
    return PreferenceService.get_preferences_dict(tenant=actor_of(request).tenant, code=code)


@router.get("/customers/{code}/restrictions", response=responses({200: list[PreferenceOut]}, 404))
def list_restrictions(request, code: str):
    """Only the customer's restrictions (allergies, diets): check them before serving."""
    return list(PreferenceService.get_restrictions(tenant=actor_of(request).tenant, code=code))


@router.get(
    "/customers/{code}/preferences/{category}/{key}",
    response=responses({200: PreferenceOut}, 404),
)
def get_preference(request, code: str, category: str, key: str):
    """One preference of the customer."""
    return PreferenceService.get_preference(
        tenant=actor_of(request).tenant, code=code, category=category, key=key
    )


@router.put(
    "/customers/{code}/preferences/{category}/{key}",
    response=responses({200: PreferenceOut}, 400, 404, 409),
    auth=WRITE,
)
def set_preference(request, code: str, category: str, key: str, payload: PreferenceIn):
    """Set a preference, replacing its value; sending the same again changes nothing."""
    return PreferenceService.set_preference(
        actor=actor_of(request), code=code, category=category, key=key, **payload.model_dump()
    )


@router.delete(
    "/customers/{code}/preferences/{category}/{key}",
    response=responses({204: None}, 404),
    auth=WRITE,
)
def delete_preference(request, code: str, category: str, key: str):
    """Remove a preference for good."""
    PreferenceService.delete_preference(
        actor=actor_of(request), code=code, category=category, key=key
    )
    return Status(204, None)
