"""Interactions: the calls, messages and visits staff log, their follow-ups and their volume.

Each interaction is written with its own timeline entry (event type `contact`), so a customer's
history shows it beside everything else; the outbox gets `interaction.logged` once, through the
customer hooks like every other change. Days ("today", "overdue", volume per day) are the
tenant's days, in its timezone.
"""

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant
from rapport.timeline.models import (
    Direction,
    EventType,
    Interaction,
    InteractionChannel,
    InteractionType,
)
from rapport.timeline.services import TimelineService

SUBJECT_LIMIT = 200
OUTCOME_LIMIT = 100
STAFF_NAME_LIMIT = 150
NOTES_LIMIT = 10_000
# A day is the longest anyone talks to a customer in one go; more is a typing mistake.
DURATION_LIMIT = 24 * 60
# Clocks disagree a little; an interaction further in the future than this has not happened.
CLOCK_SKEW = dt.timedelta(minutes=5)
# Stats cover at most this many days, so a per-day answer stays small.
STATS_DAYS_LIMIT = 366
STATS_DEFAULT_DAYS = 30
# Dates outside these years are typing mistakes, and near the calendar's ends a timezone shift
# leaves it.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST_DAY = dt.date(2999, 12, 31)
FOLLOW_UP_WHEN = ("today", "overdue", "due")
EDITABLE_FIELDS = (
    "interaction_type",
    "channel",
    "direction",
    "subject",
    "notes",
    "handled_by",
    "duration_minutes",
    "outcome",
    "follow_up_required",
    "follow_up_date",
    "occurred_at",
)


@dataclass(frozen=True)
class Volume:
    """How many interactions one channel, staff member or day had."""

    key: str
    count: int


def tenant_zone(tenant: Tenant) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(tenant.timezone)


def tenant_today(tenant: Tenant) -> dt.date:
    """Today's date where the tenant is."""
    return timezone.localdate(timezone=tenant_zone(tenant))


def _choice_error(errors: dict[str, str], name: str, value: Any, choices: list[str]) -> None:
    if value not in choices:
        errors[name] = f"Use one of {', '.join(choices)}"


def _text_error(errors: dict[str, str], name: str, value: Any, limit: int) -> None:
    if not isinstance(value, str) or "\x00" in value:
        errors[name] = "Text"
    elif len(value) > limit:
        errors[name] = f"At most {limit} characters"


def _clean(values: dict[str, Any], *, now: dt.datetime) -> dict[str, str]:
    """The errors of the given fields (each present key is checked), by field name."""
    errors: dict[str, str] = {}
    if "interaction_type" in values:
        _choice_error(
            errors, "interaction_type", values["interaction_type"], InteractionType.values
        )
    if "channel" in values:
        _choice_error(errors, "channel", values["channel"], InteractionChannel.values)
    if "direction" in values:
        _choice_error(errors, "direction", values["direction"], Direction.values)
    for name, limit in (
        ("subject", SUBJECT_LIMIT),
        ("notes", NOTES_LIMIT),
        ("outcome", OUTCOME_LIMIT),
    ):
        if name in values:
            _text_error(errors, name, values[name], limit)
    if values.get("handled_by") is not None:
        _text_error(errors, "handled_by", values["handled_by"], STAFF_NAME_LIMIT)
    duration = values.get("duration_minutes")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not 0 <= duration <= DURATION_LIMIT
    ):
        errors["duration_minutes"] = f"Whole minutes from 0 to {DURATION_LIMIT}"
    if "follow_up_required" in values and not isinstance(values["follow_up_required"], bool):
        errors["follow_up_required"] = "true or false"
    follow_up_date = values.get("follow_up_date")
    if follow_up_date is not None and (
        not isinstance(follow_up_date, dt.date) or isinstance(follow_up_date, dt.datetime)
    ):
        errors["follow_up_date"] = "A date, YYYY-MM-DD"
    elif follow_up_date is not None and not EARLIEST.date() <= follow_up_date <= LATEST_DAY:
        errors["follow_up_date"] = f"From {EARLIEST.date().isoformat()} to {LATEST_DAY.isoformat()}"
    occurred_at = values.get("occurred_at")
    if occurred_at is not None:
        if not isinstance(occurred_at, dt.datetime) or occurred_at.tzinfo is None:
            errors["occurred_at"] = "A timestamp with its offset"
        elif occurred_at > now + CLOCK_SKEW:
            errors["occurred_at"] = "Not in the future"
        elif occurred_at < EARLIEST:
            errors["occurred_at"] = f"Not before {EARLIEST.date().isoformat()}"
    return errors


def _resolve_staff(actor: Actor, handled_by: str | None) -> tuple[Any, str]:
    """(user, name): the tenant's user with that username, else the text as the staff name.

    Users are shared by every tenant of an installation, so a username names a user only when
    it is the acting user or one holding a live API key of the actor's tenant; anyone else is
    kept as text, which neither links nor reveals another tenant's staff.
    """
    if handled_by is None:
        return (actor.user if actor.user_id is not None else None), ""
    text = handled_by.strip()
    if not text:
        return None, ""
    users = get_user_model()
    user = (
        users.objects.filter(**{users.USERNAME_FIELD: text}, is_active=True)
        .filter(
            Q(pk=actor.user_id)
            | Q(rapport_api_keys__tenant=actor.tenant, rapport_api_keys__revoked_at=None)
        )
        .first()
    )
    return (user, "") if user is not None else (None, text)


def _title(interaction: Interaction) -> str:
    kind = f"{interaction.get_direction_display()} {interaction.get_interaction_type_display()}"
    kind = kind[0] + kind[1:].lower().replace("sms", "SMS").replace("whatsapp", "WhatsApp")
    title = f"{kind}: {interaction.subject}" if interaction.subject else kind
    return title[:SUBJECT_LIMIT]


def interaction_payload(interaction: Interaction) -> dict[str, Any]:
    """An interaction in outbox events. Notes stay out: they may hold health or private data."""
    return {
        "id": str(interaction.uuid),
        "interaction_type": interaction.interaction_type,
        "channel": interaction.channel,
        "direction": interaction.direction,
        "subject": interaction.subject,
        "outcome": interaction.outcome,
        "handled_by": interaction.staff,
        "duration_minutes": interaction.duration_minutes,
        "follow_up_required": interaction.follow_up_required,
        "follow_up_date": interaction.follow_up_date.isoformat()
        if interaction.follow_up_date
        else None,
        "follow_up_done_at": interaction.follow_up_done_at.isoformat()
        if interaction.follow_up_done_at
        else None,
        "occurred_at": interaction.occurred_at.isoformat(),
    }


def _publish(
    kind: str, interaction: Interaction, actor: Actor, *, title: str = "", changes=None
) -> None:
    hooks.publish(
        CustomerChange(
            kind=kind,
            customer=interaction.customer,
            actor=actor,
            changes=changes or {},
            detail={
                "interaction": interaction_payload(interaction),
                **({"changes": changes} if changes else {}),
            },
            title=title,
            timeline_type=EventType.CONTACT,
            event=f"interaction.{kind.removeprefix('interaction_')}",
        )
    )


def _default_follow_up_date(tenant: Tenant, occurred_at: dt.datetime) -> dt.date:
    # A follow-up with no date is due at once: on the tenant's day the interaction happened.
    return timezone.localdate(occurred_at, timezone=tenant_zone(tenant))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _lookup(tenant: Tenant, interaction_id: Any) -> Interaction:
    try:
        key = uuid.UUID(str(interaction_id))
    except ValueError:
        raise NotFound("No interaction with that id") from None
    interaction = (
        Interaction.objects.filter(tenant=tenant, uuid=key)
        .select_related("customer", "handled_by", "timeline_event")
        .first()
    )
    if interaction is None:
        raise NotFound("No interaction with that id")
    return interaction


class InteractionService:
    """Log, change and read interactions; list follow-ups; count volume."""

    @staticmethod
    def log_interaction(
        *,
        actor: Actor,
        customer: Customer,
        interaction_type: str,
        channel: str,
        direction: str,
        subject: str = "",
        notes: str = "",
        handled_by: str | None = None,
        duration_minutes: int | None = None,
        outcome: str = "",
        follow_up_required: bool = False,
        follow_up_date: dt.date | None = None,
        occurred_at: dt.datetime | None = None,
    ) -> Interaction:
        """Record a touchpoint with its timeline entry; `handled_by` is a username or a name.

        Left out, `handled_by` is the acting user (none for API keys without one).
        """
        now = timezone.now()
        values = {
            "interaction_type": interaction_type,
            "channel": channel,
            "direction": direction,
            "subject": subject,
            "notes": notes,
            "handled_by": handled_by,
            "duration_minutes": duration_minutes,
            "outcome": outcome,
            "follow_up_required": follow_up_required,
            "follow_up_date": follow_up_date,
            "occurred_at": occurred_at,
        }
        errors = _clean(values, now=now)
        if follow_up_date is not None and follow_up_required is not True:
            errors.setdefault("follow_up_date", "Only with follow_up_required")
        if customer.tenant_id != actor.tenant.pk:
            raise NotFound("No such customer")
        if errors:
            raise InvalidInput("The interaction is not valid", fields=errors)
        occurred_at = occurred_at or now
        if follow_up_required and follow_up_date is None:
            follow_up_date = _default_follow_up_date(actor.tenant, occurred_at)
        user, staff_name = _resolve_staff(actor, handled_by)
        with transaction.atomic():
            interaction = Interaction(
                tenant=actor.tenant,
                customer=customer,
                interaction_type=interaction_type,
                channel=channel,
                direction=direction,
                subject=subject.strip(),
                notes=notes,
                handled_by=user,
                handled_by_name=staff_name,
                duration_minutes=duration_minutes,
                outcome=outcome.strip(),
                follow_up_required=follow_up_required,
                follow_up_date=follow_up_date,
                occurred_at=occurred_at,
            )
            interaction.timeline_event = TimelineService.log_event(
                customer=customer,
                event_type=EventType.CONTACT,
                title=_title(interaction),
                description=notes,
                channel=channel,
                reference=f"interaction:{interaction.uuid}",
                metadata={
                    "kind": "interaction_logged",
                    "interaction": str(interaction.uuid),
                    "interaction_type": interaction_type,
                    "direction": direction,
                },
                actor=actor,
            )
            interaction.save()
            # The entry above is the timeline's; the hooks carry the outbox event only.
            _publish("interaction_logged", interaction, actor)
        return interaction

    @staticmethod
    def update_interaction(
        *, actor: Actor, interaction: Interaction, **changes: Any
    ) -> Interaction:
        """Change what was logged; its timeline entry stays as written (the timeline is a log)."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(
                "These fields cannot be changed",
                fields={name: "Not a field of an interaction" for name in sorted(unknown)},
            )
        if interaction.tenant_id != actor.tenant.pk:
            raise NotFound("No interaction with that id")
        now = timezone.now()
        errors = _clean(changes, now=now)
        for name in ("interaction_type", "channel", "direction", "follow_up_required"):
            if name in changes and changes[name] is None:
                errors[name] = "Cannot be null"
        for name in ("subject", "notes", "outcome", "occurred_at"):
            if name in changes and changes[name] is None:
                errors[name] = "Cannot be null"
        required = changes.get("follow_up_required", interaction.follow_up_required)
        if changes.get("follow_up_date") is not None and required is not True:
            errors.setdefault("follow_up_date", "Only with follow_up_required")
        if errors:
            raise InvalidInput("The interaction is not valid", fields=errors)
        with transaction.atomic():
            interaction = (
                Interaction.objects.select_for_update(of=("self",))
                .select_related("customer", "handled_by", "timeline_event")
                .get(pk=interaction.pk)
            )
            before = {name: getattr(interaction, name) for name in EDITABLE_FIELDS}
            before["handled_by"] = interaction.staff
            values = dict(changes)
            if "handled_by" in values:
                user, name = _resolve_staff(actor, values.pop("handled_by") or "")
                interaction.handled_by, interaction.handled_by_name = user, name
            for name in ("subject", "outcome"):
                if name in values:
                    values[name] = values[name].strip()
            for name, value in values.items():
                setattr(interaction, name, value)
            if not interaction.follow_up_required:
                interaction.follow_up_date = None
                interaction.follow_up_done_at = None
            elif interaction.follow_up_date is None:
                interaction.follow_up_date = _default_follow_up_date(
                    actor.tenant, interaction.occurred_at
                )
            after = {name: getattr(interaction, name) for name in EDITABLE_FIELDS}
            after["handled_by"] = interaction.staff
            diff = {
                name: {"old": _plain(before[name]), "new": _plain(after[name])}
                for name in EDITABLE_FIELDS
                if before[name] != after[name]
            }
            if not diff:
                return interaction
            interaction.save()
            # Notes stay out of the change record, as out of the payload.
            diff.pop("notes", None)
            _publish("interaction_updated", interaction, actor, changes=diff)
        return interaction

    @staticmethod
    def complete_follow_up(
        *, actor: Actor, interaction: Interaction, at: dt.datetime | None = None
    ) -> Interaction:
        """Mark the follow-up done; Conflict when none is needed or it is done already."""
        if interaction.tenant_id != actor.tenant.pk:
            raise NotFound("No interaction with that id")
        now = timezone.now()
        if at is not None and (at.tzinfo is None or at > now + CLOCK_SKEW):
            raise InvalidInput("The time is not valid", fields={"at": "Not in the future"})
        with transaction.atomic():
            interaction = (
                Interaction.objects.select_for_update(of=("self",))
                .select_related("customer", "handled_by", "timeline_event")
                .get(pk=interaction.pk)
            )
            if not interaction.follow_up_required:
                raise Conflict(
                    "This interaction needs no follow-up",
                    fields={"follow_up_required": "false"},
                )
            if interaction.follow_up_done_at is not None:
                raise Conflict(
                    "The follow-up is already done",
                    fields={"follow_up_done_at": interaction.follow_up_done_at.isoformat()},
                )
            interaction.follow_up_done_at = at or now
            interaction.save(update_fields=["follow_up_done_at", "updated_at"])
            title = "Follow-up done" + (f": {interaction.subject}" if interaction.subject else "")
            _publish(
                "interaction_follow_up_completed",
                interaction,
                actor,
                title=title[:SUBJECT_LIMIT],
            )
        return interaction

    @staticmethod
    def get_interaction(*, tenant: Tenant, interaction_id: Any) -> Interaction:
        """One of the tenant's interactions; NotFound otherwise (also for other tenants')."""
        return _lookup(tenant, interaction_id)

    @staticmethod
    def get_interactions(*, customer: Customer) -> QuerySet:
        """A customer's interactions, most recent first."""
        return Interaction.objects.filter(customer=customer).select_related(
            "customer", "handled_by", "timeline_event"
        )

    @staticmethod
    def list_interactions(
        *,
        tenant: Tenant,
        channel: str | None = None,
        interaction_type: str | None = None,
        handled_by: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> QuerySet:
        """The tenant's interactions, most recent first; `since` inclusive, `until` exclusive."""
        errors: dict[str, str] = {}
        if channel is not None:
            _choice_error(errors, "channel", channel, InteractionChannel.values)
        if interaction_type is not None:
            _choice_error(errors, "interaction_type", interaction_type, InteractionType.values)
        if since is not None and until is not None and since > until:
            errors["until"] = "Not before since"
        if errors:
            raise InvalidInput("The filters are not valid", fields=errors)
        interactions = Interaction.objects.filter(tenant=tenant).select_related(
            "customer", "handled_by", "timeline_event"
        )
        if channel is not None:
            interactions = interactions.filter(channel=channel)
        if interaction_type is not None:
            interactions = interactions.filter(interaction_type=interaction_type)
        if handled_by:
            users = get_user_model()
            interactions = interactions.filter(
                Q(**{f"handled_by__{users.USERNAME_FIELD}": handled_by})
                | Q(handled_by__isnull=True, handled_by_name=handled_by)
            )
        if since is not None:
            interactions = interactions.filter(occurred_at__gte=since)
        if until is not None:
            interactions = interactions.filter(occurred_at__lt=until)
        return interactions

    @staticmethod
    def follow_ups(*, tenant: Tenant, when: str = "due", today: dt.date | None = None) -> QuerySet:
        """Open follow-ups due `today`, `overdue` (before today) or `due` (both), the tenant's day."""
        if when not in FOLLOW_UP_WHEN:
            raise InvalidInput(
                "Unknown follow-up filter",
                fields={"when": f"Use one of {', '.join(FOLLOW_UP_WHEN)}"},
            )
        today = today or tenant_today(tenant)
        dates = {
            "today": Q(follow_up_date=today),
            "overdue": Q(follow_up_date__lt=today),
            "due": Q(follow_up_date__lte=today),
        }[when]
        return (
            Interaction.objects.filter(
                tenant=tenant, follow_up_required=True, follow_up_done_at__isnull=True
            )
            .filter(dates)
            .select_related("customer", "handled_by", "timeline_event")
        )

    @staticmethod
    def stats_period(
        *, tenant: Tenant, since: dt.date | None = None, until: dt.date | None = None
    ) -> tuple[dt.date, dt.date]:
        """The days a report covers: both given, or defaults ending today (InvalidInput if wrong)."""
        for name, day in (("since", since), ("until", until)):
            if day is not None and not EARLIEST.date() <= day <= LATEST_DAY:
                raise InvalidInput(
                    "The period is not valid",
                    fields={
                        name: f"From {EARLIEST.date().isoformat()} to {LATEST_DAY.isoformat()}"
                    },
                )
        until = until or tenant_today(tenant)
        since = since or max(until - dt.timedelta(days=STATS_DEFAULT_DAYS - 1), EARLIEST.date())
        if since > until:
            raise InvalidInput("The period is not valid", fields={"until": "Not before since"})
        if (until - since).days >= STATS_DAYS_LIMIT:
            raise InvalidInput(
                "The period is too long",
                fields={"since": f"At most {STATS_DAYS_LIMIT} days from since to until"},
            )
        return since, until

    @staticmethod
    def volume_by_channel(*, tenant: Tenant, since: dt.date, until: dt.date) -> list[Volume]:
        """Interactions per channel over the tenant's days since..until, busiest first."""
        rows = (
            _in_period(tenant, since, until)
            .values("channel")
            .annotate(count=Count("id"))
            .order_by("-count", "channel")
        )
        return [Volume(row["channel"], row["count"]) for row in rows]

    @staticmethod
    def volume_by_staff(*, tenant: Tenant, since: dt.date, until: dt.date) -> list[Volume]:
        """Interactions per staff member (username, or the name given; "" for nobody)."""
        users = get_user_model()
        rows = (
            _in_period(tenant, since, until)
            .annotate(
                staff=Coalesce(f"handled_by__{users.USERNAME_FIELD}", "handled_by_name", Value(""))
            )
            .values("staff")
            .annotate(count=Count("id"))
            .order_by("-count", "staff")
        )
        return [Volume(row["staff"], row["count"]) for row in rows]

    @staticmethod
    def volume_per_day(*, tenant: Tenant, since: dt.date, until: dt.date) -> list[Volume]:
        """Interactions on each of the tenant's days since..until, oldest first, zeros included."""
        rows = (
            _in_period(tenant, since, until)
            .annotate(day=TruncDate("occurred_at", tzinfo=tenant_zone(tenant)))
            .values("day")
            .annotate(count=Count("id"))
            .order_by("day")
        )
        counts = {_as_date(row["day"]): row["count"] for row in rows}
        days = (since + dt.timedelta(days=offset) for offset in range((until - since).days + 1))
        return [Volume(day.isoformat(), counts.get(day, 0)) for day in days]


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _in_period(tenant: Tenant, since: dt.date, until: dt.date) -> QuerySet:
    """The tenant's interactions from the start of `since` to the end of `until`, its time."""
    zone = tenant_zone(tenant)
    start = dt.datetime.combine(since, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return Interaction.objects.filter(tenant=tenant, occurred_at__gte=start, occurred_at__lt=end)
