"""REST endpoints of privacy."""

from ninja import Router

from rapport.tenancy.api import READ

router = Router(tags=["privacy"], auth=READ)
