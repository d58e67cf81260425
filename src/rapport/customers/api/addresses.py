"""A customer's addresses."""

from uuid import UUID

from ninja import Router, Status

from rapport.customers.api.customers import customer_of
from rapport.customers.api.schemas import (
    AddressIn,
    AddressOut,
    AddressPatch,
)
from rapport.customers.services import AddressService
from rapport.schemas import WRITE_ERRORS, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["addresses"], auth=READ)


@router.get("/customers/{code}/addresses", response=responses({200: list[AddressOut]}, 404))
def list_addresses(request, code: str):
    """The customer's addresses, the default first."""
    return list(customer_of(request, code).addresses.all())


@router.post(
    "/customers/{code}/addresses",
    response=responses({201: AddressOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_address(request, code: str, payload: AddressIn):
    """Add an address; the first one becomes the default."""
    return Status(
        201, AddressService.add_address(actor=actor_of(request), code=code, **payload.model_dump())
    )


@router.patch(
    "/customers/{code}/addresses/{address_id}",
    response=responses({200: AddressOut}, 400, 404),
    auth=WRITE,
)
def update_address(request, code: str, address_id: UUID, payload: AddressPatch):
    """Change an address; making it the default unsets the previous default."""
    return AddressService.update_address(
        actor=actor_of(request),
        code=code,
        address_id=address_id,
        **payload.model_dump(exclude_unset=True),
    )


@router.delete(
    "/customers/{code}/addresses/{address_id}", response=responses({204: None}, 404), auth=WRITE
)
def delete_address(request, code: str, address_id: UUID):
    """Delete an address; another one becomes the default if this was it."""
    AddressService.delete_address(actor=actor_of(request), code=code, address_id=address_id)
    return Status(204, None)
