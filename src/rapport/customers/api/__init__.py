"""REST endpoints of the customer core: customers, tags, notes, addresses, referrals."""

from ninja import Router

from rapport.customers.api import addresses, customers, notes, tags

router = Router()
for module in (customers, tags, notes, addresses):
    router.add_router("", module.router)
