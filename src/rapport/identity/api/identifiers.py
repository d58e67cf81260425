"""REST endpoints of identity: identifiers, lookup, find-or-create and identifier types."""

import datetime as dt
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status

from rapport.exceptions import NotFound
from rapport.identity.models import Normalization
from rapport.identity.services import IdentifierService, IdentifierTypeService
from rapport.schemas import WRITE_ERRORS, InputSchema, responses
from rapport.tenancy.api import ADMIN, READ, WRITE, actor_of

router = Router(tags=["identity"], auth=READ)

TYPE_DESCRIPTION = (
    "phone, email, whatsapp, instagram, facebook, telegram, manychat, or one of the tenant's "
    "identifier types"
)
VALUE_DESCRIPTION = (
    "Phones in any common format (stored as E.164 with the tenant's region), emails "
    "lower-cased with IDNA domains, handles as @name, name or a profile URL"
)


class IdentifiedCustomerOut(Schema):
    """The customer an identifier finds; GET /customers/{code} has the rest."""

    code: str
    display_name: str
    first_name: str
    last_name: str
    email: str
    phone: str
    instagram_handle: str
    source: str
    is_archived: bool
    created_at: dt.datetime


class IdentifierOut(Schema):
    id: UUID = Field(alias="uuid")
    type: str
    value: str
    is_primary: bool
    source: str
    created_at: dt.datetime


class IdentifierIn(InputSchema):
    type: str = Field(min_length=1, max_length=30, description=TYPE_DESCRIPTION)
    value: str = Field(
        min_length=1, max_length=1000, description=VALUE_DESCRIPTION, examples=["0803 123 4567"]
    )
    is_primary: bool = False
    source: str = Field("", max_length=50, description="pos, whatsapp, import, …")


class IdentifierPatch(InputSchema):
    is_primary: bool | None = None


class LookupQuery(Schema):
    type: str = Field(min_length=1, max_length=30, description=TYPE_DESCRIPTION)
    value: str = Field(min_length=1, max_length=1000, description=VALUE_DESCRIPTION)


class FindOrCreateIn(InputSchema):
    type: str = Field(min_length=1, max_length=30, description=TYPE_DESCRIPTION)
    value: str = Field(min_length=1, max_length=1000, description=VALUE_DESCRIPTION)
    defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="Profile fields for a new customer (first_name, email, …); ignored if found",
        examples=[{"first_name": "Ada"}],
    )
    source: str = Field("", max_length=50, description="Channel: whatsapp, instagram, pos, …")


class FindOrCreateOut(Schema):
    customer: IdentifiedCustomerOut
    created: bool


class IdentifierTypeOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    label: str
    normalization: str
    created_at: dt.datetime


class IdentifierTypeIn(InputSchema):
    name: str = Field(min_length=1, max_length=30, examples=["loyalty_card"])
    label: str = Field("", max_length=100)
    normalization: Normalization = Normalization.TEXT


@router.get("/customers/{code}/identifiers", response=responses({200: list[IdentifierOut]}, 404))
def list_identifiers(request, code: str):
    """The customer's identifiers by type, each type's primary first."""
    return IdentifierService.get_identifiers(tenant=actor_of(request).tenant, code=code)


@router.post(
    "/customers/{code}/identifiers",
    response=responses({201: IdentifierOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_identifier(request, code: str, payload: IdentifierIn):
    """Link an identifier to the customer; 409 names the customer it already finds."""
    identifier = IdentifierService.add_identifier(
        actor=actor_of(request), code=code, **payload.model_dump()
    )
    return Status(201, identifier)


@router.patch(
    "/customers/{code}/identifiers/{identifier_id}",
    response=responses({200: IdentifierOut}, 400, 404),
    auth=WRITE,
)
def update_identifier(request, code: str, identifier_id: UUID, payload: IdentifierPatch):
    """Make an identifier its type's primary."""
    return IdentifierService.update_identifier(
        actor=actor_of(request),
        code=code,
        identifier_id=identifier_id,
        **payload.model_dump(exclude_unset=True),
    )


@router.delete(
    "/customers/{code}/identifiers/{identifier_id}",
    response=responses({204: None}, 404),
    auth=WRITE,
)
def remove_identifier(request, code: str, identifier_id: UUID):
    """Unlink an identifier; if it was primary, the oldest other one of its type is."""
    IdentifierService.remove_identifier(
        actor=actor_of(request), code=code, identifier_id=identifier_id
    )
    return Status(204, None)


@router.get("/identifiers/lookup", response=responses({200: IdentifiedCustomerOut}, 404))
def lookup(request, query: Query[LookupQuery]):
    """The customer an identifier finds (a merged one's survivor); 404 if none."""
    customer = IdentifierService.find_by_identifier(
        tenant=actor_of(request).tenant, type=query.type, value=query.value
    )
    if customer is None:
        raise NotFound(f"No customer has the {query.type} {query.value!r}")
    return customer


@router.post(
    "/identifiers/find-or-create",
    response=responses({200: FindOrCreateOut, 201: FindOrCreateOut}, *WRITE_ERRORS),
    auth=WRITE,
)
def find_or_create(request, payload: FindOrCreateIn):
    """The customer an identifier finds (200), or a new one linked to it (201)."""
    customer, created = IdentifierService.find_or_create_customer(
        actor=actor_of(request), **payload.model_dump()
    )
    return Status(201 if created else 200, {"customer": customer, "created": created})


@router.get("/identifier-types", response=responses({200: list[IdentifierTypeOut]}))
def list_identifier_types(request):
    """The tenant's own identifier types (beside the built-in ones)."""
    return IdentifierTypeService.list_types(tenant=actor_of(request).tenant)


@router.post(
    "/identifier-types",
    response=responses({201: IdentifierTypeOut}, *WRITE_ERRORS),
    auth=ADMIN,
)
def create_identifier_type(request, payload: IdentifierTypeIn):
    """Add an identifier type (a loyalty card, a patient number) and how to normalize it."""
    identifier_type = IdentifierTypeService.create_type(
        actor=actor_of(request), **payload.model_dump()
    )
    return Status(201, identifier_type)


@router.delete("/identifier-types/{type_id}", response=responses({204: None}, 404, 409), auth=ADMIN)
def delete_identifier_type(request, type_id: UUID):
    """Remove an identifier type no identifier uses."""
    IdentifierTypeService.delete_type(actor=actor_of(request), type_id=type_id)
    return Status(204, None)
