"""REST endpoints of consent."""

from ninja import Router

from rapport.tenancy.api import READ

router = Router(tags=["consent"], auth=READ)
