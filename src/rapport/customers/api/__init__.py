"""REST endpoints of the customer core: customers, everything attached to them, and referrals."""

from ninja import Router

from rapport.customers.api import (
    addresses,
    contact_points,
    customers,
    external_identities,
    notes,
    tags,
)

router = Router()
for module in (customers, tags, notes, addresses, contact_points, external_identities):
    router.add_router("", module.router)
