"""The ingest door's routes: inbound events and CSV imports."""

from ninja import Router

from rapport.ingest.api.events import router as events_router
from rapport.ingest.api.imports import router as imports_router
from rapport.ingest.api.orders import router as orders_router

router = Router()
router.add_router("", events_router)
router.add_router("", orders_router)
router.add_router("", imports_router)
