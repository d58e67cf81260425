"""Every write to commerce: orders (one or in bulk), their status and refunds, and visits."""

from rapport.commerce.services.inputs import LineInput, OrderInput, VisitInput
from rapport.commerce.services.orders import (
    BulkRecorded,
    OrderRecorded,
    OrderService,
    Refunded,
    StatusChanged,
)
from rapport.commerce.services.visits import VisitRecorded, VisitService

__all__ = [
    "BulkRecorded",
    "LineInput",
    "OrderInput",
    "OrderRecorded",
    "OrderService",
    "Refunded",
    "StatusChanged",
    "VisitInput",
    "VisitRecorded",
    "VisitService",
]
