"""REST endpoints of identity: merges."""

from ninja import Router

from rapport.tenancy.api import READ

router = Router(tags=["identity"], auth=READ)
