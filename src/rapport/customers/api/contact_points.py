"""A customer's contact points: further phones, emails and chat accounts."""

from uuid import UUID

from ninja import Router, Status

from rapport.customers.api.customers import customer_of
from rapport.customers.api.schemas import (
    ContactPointIn,
    ContactPointOut,
    ContactPointPatch,
)
from rapport.customers.services import ContactPointService
from rapport.schemas import WRITE_ERRORS, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["contact points"], auth=READ)


@router.get(
    "/customers/{code}/contact-points", response=responses({200: list[ContactPointOut]}, 404)
)
def list_contact_points(request, code: str):
    """The customer's contact points by type, each type's primary first."""
    return list(customer_of(request, code).contact_points.all())


@router.post(
    "/customers/{code}/contact-points",
    response=responses({201: ContactPointOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_contact_point(request, code: str, payload: ContactPointIn):
    """Add a way to reach the customer; the first of its type becomes that type's primary."""
    contact_point = ContactPointService.add_contact_point(
        actor=actor_of(request), code=code, **payload.model_dump()
    )
    return Status(201, contact_point)


@router.patch(
    "/customers/{code}/contact-points/{contact_point_id}",
    response=responses({200: ContactPointOut}, 400, 404),
    auth=WRITE,
)
def update_contact_point(request, code: str, contact_point_id: UUID, payload: ContactPointPatch):
    """Make a contact point its type's primary, or mark it verified or unverified."""
    return ContactPointService.update_contact_point(
        actor=actor_of(request),
        code=code,
        contact_point_id=contact_point_id,
        **payload.model_dump(exclude_unset=True),
    )


@router.delete(
    "/customers/{code}/contact-points/{contact_point_id}",
    response=responses({204: None}, 404),
    auth=WRITE,
)
def remove_contact_point(request, code: str, contact_point_id: UUID):
    """Remove a contact point; if it was primary, the oldest other one of its type is."""
    ContactPointService.remove_contact_point(
        actor=actor_of(request), code=code, contact_point_id=contact_point_id
    )
    return Status(204, None)
