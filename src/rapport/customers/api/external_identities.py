"""A customer's ids in other systems, and finding a customer by one of them."""

from uuid import UUID

from ninja import Router, Status

from rapport.customers import selectors
from rapport.customers.api.customers import customer_of
from rapport.customers.api.schemas import (
    CustomerDetailOut,
    ExternalIdentityIn,
    ExternalIdentityOut,
)
from rapport.customers.services import ExternalIdentityService
from rapport.exceptions import NotFound
from rapport.schemas import WRITE_ERRORS, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["external identities"], auth=READ)


@router.get(
    "/customers/{code}/external-identities",
    response=responses({200: list[ExternalIdentityOut]}, 404),
)
def list_external_identities(request, code: str):
    """The customer's ids in other systems, oldest first."""
    return list(customer_of(request, code).external_identities.order_by("created_at", "pk"))


@router.post(
    "/customers/{code}/external-identities",
    response=responses({201: ExternalIdentityOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def link_external_identity(request, code: str, payload: ExternalIdentityIn):
    """Record the customer's id in another system; an id linked to anyone already is a 409."""
    identity = ExternalIdentityService.link(
        actor=actor_of(request), code=code, **payload.model_dump()
    )
    return Status(201, identity)


@router.delete(
    "/customers/{code}/external-identities/{identity_id}",
    response=responses({204: None}, 404),
    auth=WRITE,
)
def unlink_external_identity(request, code: str, identity_id: UUID):
    """Forget the customer's id in another system."""
    ExternalIdentityService.unlink(actor=actor_of(request), code=code, identity_id=identity_id)
    return Status(204, None)


@router.get(
    "/external-identities/{provider}/{path:external_id}",
    response=responses({200: CustomerDetailOut}, 404),
)
def find_customer_by_external_identity(request, provider: str, external_id: str):
    """The customer linked to this id in another system; the id may contain slashes."""
    tenant = actor_of(request).tenant
    customer = ExternalIdentityService.find_customer(
        tenant=tenant, provider=provider, external_id=external_id
    )
    detail = selectors.customer_detail(tenant=tenant, code=customer.code)
    if detail is None:  # deleted since it was found
        raise NotFound(f"No customer is linked to {provider} id {external_id!r}")
    return detail
