"""REST endpoints of loyalty: the program, its rules and presets, accounts and their ledger."""

from ninja import Router

from rapport.loyalty.api import accounts, program

router = Router()
for module in (program, accounts):
    router.add_router("", module.router)
