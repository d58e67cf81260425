"""REST endpoints of identity: duplicates."""

from ninja import Router

from rapport.tenancy.api import READ

router = Router(tags=["identity"], auth=READ)
