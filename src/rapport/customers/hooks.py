"""How the core tells other apps that a customer changed, without importing them.

Apps further down the dependency order (timeline, events, audit, …) register a listener in
their `AppConfig.ready()`. Services call `publish()` inside their transaction, so what a
listener writes commits or rolls back with the change itself. Listeners must not raise for
ordinary changes; an exception aborts the change.
"""

from collections.abc import Callable, Sequence
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
ManyListener = Callable[[Sequence[CustomerChange]], None]
_listeners: list[Listener] = []
_many: dict[Listener, ManyListener] = {}


def register(listener: Listener, many: ManyListener | None = None) -> Listener:
    """Add a listener once (registering the same function twice keeps one).

    `many` is its bulk variant: given a batch of changes it writes what the listener would
    write for each, in a few queries instead of one per change.
    """
    if listener not in _listeners:
        _listeners.append(listener)
    if many is not None:
        _many[listener] = many
    return listener


def publish(change: CustomerChange) -> None:
    for listener in _listeners:
        listener(change)


def publish_many(changes: Sequence[CustomerChange]) -> None:
    """Publish a batch: each listener's bulk variant when it has one, else one call per change."""
    changes = list(changes)
    if not changes:
        return
    for listener in _listeners:
        many = _many.get(listener)
        if many is not None:
            many(changes)
        else:
            for change in changes:
                listener(change)
