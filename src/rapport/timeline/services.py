"""Writing to and reading from the timeline."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from rapport.customers.hooks import CustomerChange
from rapport.customers.models import ContactPoint, Customer
from rapport.customers.normalization import is_plain_json
from rapport.exceptions import InvalidInput
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant
from rapport.timeline.models import EventType, TimelineEvent

BULK_BATCH_SIZE = 1000


class TimelineService:
    """The seed's timeline service: log, read one customer's, read everyone's."""

    @staticmethod
    def log_event(
        *,
        customer: Customer,
        event_type: str,
        title: str,
        actor: Actor | None = None,
        description: str = "",
        channel: str = "",
        reference: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> TimelineEvent:
        """Append one event to a customer's timeline."""
        errors = {}
        if event_type not in EventType.values:
            errors["event_type"] = f"Use one of {', '.join(EventType.values)}"
        if not title.strip():
            errors["title"] = "Required"
        elif len(title) > 200:
            errors["title"] = "At most 200 characters"
        if len(channel) > 30:
            errors["channel"] = "At most 30 characters"
        if len(reference) > 200:
            errors["reference"] = "At most 200 characters"
        if metadata and not is_plain_json(metadata):
            errors["metadata"] = "Plain JSON only: finite numbers, integers within 64 bits"
        if errors:
            raise InvalidInput("The timeline event is not valid", fields=errors)
        return TimelineEvent.objects.create(
            tenant_id=customer.tenant_id,
            customer=customer,
            event_type=event_type,
            title=title.strip(),
            description=description,
            channel=channel,
            reference=reference,
            metadata=metadata or {},
            actor=actor.label if actor else "",
        )

    @staticmethod
    def get_timeline(*, customer: Customer, event_type: str | None = None) -> QuerySet:
        """A customer's events, most recent first."""
        events = TimelineEvent.objects.filter(customer=customer)
        if event_type:
            events = events.filter(event_type=event_type)
        return events

    @staticmethod
    def get_recent_across_customers(*, tenant: Tenant, event_type: str | None = None) -> QuerySet:
        """The activity feed: every customer's events, most recent first."""
        events = TimelineEvent.objects.filter(tenant=tenant).select_related("customer")
        if event_type:
            events = events.filter(event_type=event_type)
        return events


def _changed_fields(change: CustomerChange) -> str:
    return ", ".join(name.replace("_", " ") for name in change.changes)


def _contact_point(change: CustomerChange) -> str:
    return f"{ContactPoint.Type(change.detail['type']).label} {change.detail['value']}"


def _contact_point_changes(change: CustomerChange) -> str:
    words = {
        ("is_primary", True): "made primary",
        ("is_verified", True): "verified",
        ("is_verified", False): "marked unverified",
    }
    return ", ".join(words[name, values["new"]] for name, values in change.changes.items())


# What each kind of core change looks like on the timeline.
TITLES = {
    "created": lambda change: "Customer created",
    "updated": lambda change: f"Profile updated: {_changed_fields(change)}",
    "archived": lambda change: "Customer archived",
    "restored": lambda change: "Customer restored from the archive",
    "tagged": lambda change: f"Tagged {', '.join(change.detail['tags'])}",
    "untagged": lambda change: f"Tag removed: {', '.join(change.detail['tags'])}",
    "note_added": lambda change: (
        "Private note added" if change.detail["is_private"] else "Note added"
    ),
    "contact_point_added": lambda change: f"Contact point added: {_contact_point(change)}",
    "contact_point_updated": lambda change: (
        f"Contact point {_contact_point(change)} {_contact_point_changes(change)}"
    ),
    "contact_point_removed": lambda change: f"Contact point removed: {_contact_point(change)}",
    "external_identity_linked": lambda change: (
        f"Linked to {change.detail['provider']} as {change.detail['external_id']}"
    ),
    "external_identity_unlinked": lambda change: (
        f"Unlinked from {change.detail['provider']} ({change.detail['external_id']})"
    ),
}


def _entry_of(change: CustomerChange) -> dict[str, Any] | None:
    """The log_event arguments for a change, or None when it does not reach the timeline."""
    describe = TITLES.get(change.kind)
    # Apps the core does not know describe their own changes.
    title = change.title or (describe(change) if describe else "")
    if not title:  # a deleted customer's timeline goes with them
        return None
    metadata: dict[str, Any] = {"kind": change.kind}
    if change.changes:
        metadata["changes"] = change.changes
    metadata.update({k: v for k, v in change.detail.items() if k != "content"})
    return {
        "customer": change.customer,
        "event_type": EventType.NOTE if change.kind == "note_added" else change.timeline_type,
        "title": title[:200],
        "description": change.detail.get("content", ""),
        "reference": f"note:{change.detail['note']}" if change.kind == "note_added" else "",
        "metadata": metadata,
        "actor": change.actor,
    }


def record_customer_change(change: CustomerChange) -> None:
    """Log a core change on the customer's timeline (registered in TimelineConfig.ready)."""
    entry = _entry_of(change)
    if entry is not None:
        TimelineService.log_event(**entry)


def record_customer_changes(changes: Sequence[CustomerChange]) -> None:
    """The bulk variant of record_customer_change: the same events, in one INSERT per batch."""
    events = []
    for change in changes:
        entry = _entry_of(change)
        if entry is None:
            continue
        if entry["event_type"] not in EventType.values or not entry["title"].strip():
            raise InvalidInput("The timeline event is not valid", fields={"title": "Required"})
        if not is_plain_json(entry["metadata"]):
            raise InvalidInput(
                "The timeline event is not valid",
                fields={"metadata": "Plain JSON only: finite numbers, integers within 64 bits"},
            )
        events.append(
            TimelineEvent(
                tenant_id=entry["customer"].tenant_id,
                customer=entry["customer"],
                event_type=entry["event_type"],
                title=entry["title"].strip(),
                description=entry["description"],
                reference=entry["reference"],
                metadata=entry["metadata"],
                actor=entry["actor"].label,
            )
        )
    TimelineEvent.objects.bulk_create(events, batch_size=BULK_BATCH_SIZE)
