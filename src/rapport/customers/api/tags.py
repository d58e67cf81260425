"""Tags, and the tags on a customer."""

from uuid import UUID

from ninja import Router, Status

from rapport.customers import selectors
from rapport.customers.api.customers import customer_of
from rapport.customers.api.schemas import (
    CustomerTagOut,
    TagIn,
    TagOut,
    TagPatch,
    TagsIn,
)
from rapport.customers.services import TagService
from rapport.exceptions import NotFound
from rapport.schemas import WRITE_ERRORS, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["tags"], auth=READ)


@router.get("/customers/{code}/tags", response=responses({200: list[CustomerTagOut]}, 404))
def list_customer_tags(request, code: str):
    """The customer's tags, with who added each and when."""
    return list(
        customer_of(request, code).customer_tags.select_related("tag").order_by("tag__name")
    )


@router.post(
    "/customers/{code}/tags",
    response=responses({200: list[CustomerTagOut]}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_customer_tags(request, code: str, payload: TagsIn):
    """Tag a customer by tag names; unknown names become new tags, present ones stay."""
    TagService.add_tags(actor=actor_of(request), code=code, names=payload.tags)
    return list_customer_tags(request, code)


@router.delete(
    "/customers/{code}/tags/{tag_name}", response=responses({204: None}, 404), auth=WRITE
)
def remove_customer_tag(request, code: str, tag_name: str):
    """Take a tag off a customer."""
    TagService.remove_tag(actor=actor_of(request), code=code, tag_name=tag_name)
    return Status(204, None)


@router.get("/tags", response=responses({200: list[TagOut]}))
def list_tags(request, is_active: bool | None = None):
    """The tenant's tags by name, each with how many customers carry it."""
    return list(selectors.tag_list(tenant=actor_of(request).tenant, is_active=is_active))


@router.post("/tags", response=responses({201: TagOut}, *WRITE_ERRORS), auth=WRITE)
def create_tag(request, payload: TagIn):
    """Create a tag; names are unique per tenant whatever their case."""
    return Status(201, TagService.create_tag(actor=actor_of(request), **payload.model_dump()))


@router.get("/tags/{tag_id}", response=responses({200: TagOut}, 404))
def get_tag(request, tag_id: UUID):
    """One tag with its customer count."""
    tag = selectors.tag_list(tenant=actor_of(request).tenant).filter(uuid=tag_id).first()
    if tag is None:
        raise NotFound("No tag with that id")
    return tag


@router.patch("/tags/{tag_id}", response=responses({200: TagOut}, 400, 404, 409), auth=WRITE)
def update_tag(request, tag_id: UUID, payload: TagPatch):
    """Rename, recolour, describe, activate or deactivate a tag."""
    TagService.update_tag(
        actor=actor_of(request), tag_id=tag_id, **payload.model_dump(exclude_unset=True)
    )
    return get_tag(request, tag_id)


@router.delete("/tags/{tag_id}", response=responses({204: None}, 404), auth=WRITE)
def delete_tag(request, tag_id: UUID):
    """Delete a tag and take it off every customer."""
    TagService.delete_tag(actor=actor_of(request), tag_id=tag_id)
    return Status(204, None)
