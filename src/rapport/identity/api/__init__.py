"""REST endpoints of identity: identifiers, duplicates and merges."""

from ninja import Router

from rapport.identity.api import duplicates, identifiers, merges

router = Router()
for module in (identifiers, duplicates, merges):
    router.add_router("", module.router)
