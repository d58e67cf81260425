"""REST endpoints of preferences."""

from ninja import Router

from rapport.tenancy.api import READ

router = Router(tags=["preferences"], auth=READ)
