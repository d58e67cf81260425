"""How the core tells other apps that a customer changed, without importing them.

Apps further down the dependency order (timeline, events, audit, …) register a listener in
their `AppConfig.ready()`. Services call `publish()` inside their transaction, so what a
listener writes commits or rolls back with the change itself. Listeners must not raise for
ordinary changes; an exception aborts the change.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapport.customers.models import Customer
from rapport.tenancy.actors import Actor


@dataclass(frozen=True)
class CustomerChange:
    """One change to a customer, as listeners see it."""

    # created, updated, archived, restored, deleted, tagged, untagged, note_added,
    # contact_point_added / _updated / _removed, external_identity_linked / _unlinked
    kind: str
    customer: Customer
    actor: Actor
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {old, new}
    detail: dict[str, Any] = field(default_factory=dict)
    # Apps beside the timeline and the outbox cannot import them; they describe their change:
    title: str = ""  # set: the timeline logs the change with this title (and `timeline_type`)
    timeline_type: str = "profile"  # order, contact, note, visit, loyalty, profile, system
    event: str = ""  # set: the outbox gets this event type, data {"code": …, **detail}


Listener = Callable[[CustomerChange], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> Listener:
    """Add a listener once (registering the same function twice keeps one)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def publish(change: CustomerChange) -> None:
    for listener in _listeners:
        listener(change)
