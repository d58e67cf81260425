"""Segments: creating and changing them, who is in them, and keeping their snapshots current.

A dynamic segment's customers are whoever meets its conditions now (one query); its
memberships are the snapshot of the last refresh, and each refresh sends
`customer.segment_changed` for every customer who entered or left since. A manual segment's
memberships are its members, added and removed by hand (with the same event).
"""

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer, CustomerTag
from rapport.exceptions import Conflict, InvalidInput, NotFound, RapportError
from rapport.segments import conditions as language
from rapport.segments import conf
from rapport.segments.defaults import default_segments
from rapport.segments.models import Segment, SegmentMembership, SegmentType
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

logger = logging.getLogger(__name__)

EVENT = "customer.segment_changed"
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
SEGMENT_FIELDS = ("name", "key", "description", "type", "conditions", "is_active")


@dataclass(frozen=True)
class Preview:
    """What a segment with these conditions would hold now; nothing is written."""

    count: int
    sample: list[Customer]
    conditions: dict[str, Any]  # the canonical form


@dataclass(frozen=True)
class MembershipChange:
    """The customers a manual segment gained or lost, and the segment as it is now."""

    segment: Segment
    customers: list[Customer]


@dataclass(frozen=True)
class RefreshResult:
    segment: Segment
    entered: int
    left: int
    customer_count: int


def live_customers(tenant: Tenant) -> QuerySet:
    """The customers a segment can hold: the tenant's, neither archived nor merged away."""
    return Customer.objects.filter(tenant=tenant, merged_into=None, is_archived=False)


def with_tags(customers: QuerySet) -> QuerySet:
    """Customers with their tags fetched in one more query, however many there are."""
    return customers.prefetch_related(
        Prefetch(
            "customer_tags",
            queryset=CustomerTag.objects.select_related("tag").order_by("tag__name"),
        )
    )


def _batches(rows: list, size: int):
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# --- checking a segment's fields ----------------------------------------------------------------


def _text(errors: dict[str, str], name: str, value: Any, limit: int, *, required: bool) -> str:
    if not isinstance(value, str) or "\x00" in value:
        errors[name] = "Text"
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = "Required"
    elif len(value) > limit:
        errors[name] = f"At most {limit} characters"
    return value


def _clean(tenant: Tenant, values: dict[str, Any], *, segment: Segment | None) -> dict[str, Any]:
    """The segment's fields as stored; InvalidInput naming every one that breaks a rule."""
    errors: dict[str, str] = {}
    cleaned = dict(values)
    if "name" in values:
        cleaned["name"] = _text(errors, "name", values["name"], conf.NAME_LIMIT, required=True)
    if "description" in values:
        cleaned["description"] = _text(
            errors, "description", values["description"], conf.DESCRIPTION_LIMIT, required=False
        )
    if "key" in values:
        key = values["key"]
        if not isinstance(key, str) or not KEY.fullmatch(key):
            errors["key"] = "Lower-case letters, digits, '-' and '_', at most 60, such as vip"
    kind = values.get("type", segment.type if segment else None)
    if kind not in SegmentType.values:
        errors["type"] = "manual or dynamic"
    elif segment is not None and kind != segment.type:
        errors["type"] = f"A segment's type does not change: it is {segment.type}"
    if "is_active" in values and not isinstance(values["is_active"], bool):
        errors["is_active"] = "true or false"
    if kind == SegmentType.MANUAL and values.get("conditions") not in (None, {}, []):
        errors["conditions"] = "A manual segment has no conditions: add its customers instead"
    elif kind == SegmentType.MANUAL:
        cleaned["conditions"] = {}
    elif kind == SegmentType.DYNAMIC and (
        "conditions" in values or segment is None
    ):  # dynamic: conditions required when created, checked whenever given
        if values.get("conditions") is None:
            errors["conditions"] = "Required for a dynamic segment"
        else:
            try:
                cleaned["conditions"] = language.normalize(values["conditions"], tenant=tenant)
            except InvalidInput as error:
                errors.update(error.fields)
    if errors:
        raise InvalidInput("The segment is not valid", fields=errors)
    taken = Segment.objects.filter(tenant=tenant)
    if segment is not None:
        taken = taken.exclude(pk=segment.pk)
    name = cleaned.get("name")
    if name and taken.annotate(lowered=Lower("name")).filter(lowered=name.lower()).exists():
        raise Conflict(
            f"A segment named {name!r} exists", fields={"name": "Taken by another segment"}
        )
    if "key" in cleaned and taken.filter(key=cleaned["key"]).exists():
        raise Conflict(
            f"A segment with key {cleaned['key']!r} exists",
            fields={"key": "Taken by another segment"},
        )
    return cleaned


def _free_key(tenant: Tenant, name: str) -> str:
    """A key for a new segment from its name: `VIP Customers` is vip-customers (-2 if taken)."""
    base = slugify(name)[:55].strip("-_") or "segment"
    taken = set(
        Segment.objects.filter(tenant=tenant, key__startswith=base).values_list("key", flat=True)
    )
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


def _save(segment: Segment, fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            segment.save(update_fields=fields) if fields else segment.save()
    except IntegrityError:
        raise Conflict(
            "Another segment has that name or key",
            fields={"name": "Taken by another segment"},
        ) from None


def _locked(segment: Segment) -> Segment:
    return (
        Segment.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=segment.pk)
    )


def _own(actor: Actor, segment: Segment) -> None:
    if segment.tenant_id != actor.tenant.pk:
        raise NotFound("No segment with that id")


# --- memberships --------------------------------------------------------------------------------


def _announce(actor: Actor, segment: Segment, change: str, customers: list[tuple[int, str]]):
    """customer.segment_changed for each (pk, code), in a few INSERTs (hooks' bulk variants)."""
    detail = {
        "segment": str(segment.uuid),
        "segment_key": segment.key,
        "segment_name": segment.name,
        "change": change,
    }
    hooks.publish_many(
        [
            CustomerChange(
                kind=f"segment_{change}",
                customer=Customer(pk=pk, code=code, tenant_id=segment.tenant_id),
                actor=actor,
                detail=detail,
                event=EVENT,
            )
            for pk, code in customers
        ]
    )


def _recount(segment: Segment, now: dt.datetime) -> int:
    if segment.type == SegmentType.MANUAL:
        count = SegmentService.get_segment_customers(segment=segment).count()
    else:
        count = SegmentMembership.objects.filter(segment=segment).count()
    # update(): counting is not a change of the segment, so updated_at stays.
    Segment.objects.filter(pk=segment.pk).update(customer_count=count, counted_at=now)
    segment.customer_count, segment.counted_at = count, now
    return count


def _refresh(actor: Actor, segment: Segment) -> RefreshResult:
    """Bring a locked segment's snapshot up to date: two set queries, bulk writes, the events."""
    now = timezone.now()
    if segment.type == SegmentType.MANUAL:
        return RefreshResult(segment, 0, 0, _recount(segment, now))
    members = SegmentService.get_segment_customers(segment=segment, now=now)
    current = SegmentMembership.objects.filter(segment=segment)
    joining = list(
        members.exclude(pk__in=current.values("customer_id"))
        .order_by("pk")
        .values_list("pk", "code")
    )
    leaving = list(
        current.exclude(customer__in=members.values("pk"))
        .order_by("customer_id")
        .values_list("pk", "customer_id", "customer__code")
    )
    SegmentMembership.objects.bulk_create(
        [
            SegmentMembership(
                tenant_id=segment.tenant_id, segment=segment, customer_id=pk, joined_at=now
            )
            for pk, _ in joining
        ],
        batch_size=conf.batch_size(),
    )
    for batch in _batches([row[0] for row in leaving], conf.batch_size()):
        SegmentMembership.objects.filter(pk__in=batch).delete()
    _announce(actor, segment, "entered", joining)
    _announce(actor, segment, "left", [(pk, code) for _, pk, code in leaving])
    count = _recount(segment, now)
    return RefreshResult(segment, len(joining), len(leaving), count)


def _customers_by_code(
    tenant: Tenant, codes: Any, *, missing: type[RapportError], archived: bool
) -> list[Customer]:
    """The customers with these codes (a merged duplicate's finds its survivor), in order.

    `missing` is the error for codes no customer has; archived customers are refused unless
    `archived`.
    """
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        raise InvalidInput("Give customer codes", fields={"codes": "A list of customer codes"})
    if len(codes) > conf.MAX_CODES:
        raise InvalidInput("Too many codes", fields={"codes": f"At most {conf.MAX_CODES}"})
    found = {c.code: c for c in Customer.objects.filter(tenant=tenant, code__in=codes)}
    survivors = {
        c.pk: c
        for c in Customer.objects.filter(
            tenant=tenant, pk__in=[c.merged_into_id for c in found.values() if c.merged_into_id]
        )
    }
    errors, customers = {}, []
    for number, code in enumerate(codes):
        customer = found.get(code)
        if customer is not None and customer.merged_into_id:
            customer = survivors.get(customer.merged_into_id)
        if customer is None:
            errors[f"codes.{number}"] = f"No customer with code {code[:50]!r}"
        elif customer.is_archived and not archived:
            errors[f"codes.{number}"] = f"{customer.code} is archived: restore them first"
        elif customer not in customers:
            customers.append(customer)
    if errors:
        raise missing("Some customers cannot be found", fields=errors)
    return customers


def _manual(segment: Segment) -> None:
    if segment.type != SegmentType.MANUAL:
        raise Conflict(
            f"{segment.name} is dynamic: its customers are whoever meets its conditions",
            code="dynamic_segment",
            fields={"segment": "Only a manual segment's customers are added and removed"},
        )


class SegmentService:
    """Segments, the customers in them, and the snapshots their events come from."""

    @staticmethod
    def create_segment(
        *,
        actor: Actor,
        name: str,
        type: str = SegmentType.DYNAMIC,
        conditions: Any = None,
        description: str = "",
        key: str = "",
        is_active: bool = True,
    ) -> Segment:
        """A new segment; a dynamic one is filled at once (each member gets `entered`)."""
        values = {
            "name": name,
            "type": type,
            "conditions": conditions,
            "description": description,
            "is_active": is_active,
        }
        if key:
            values["key"] = key
        cleaned = _clean(actor.tenant, values, segment=None)
        with transaction.atomic():
            cleaned.setdefault("key", _free_key(actor.tenant, cleaned["name"]))
            segment = Segment(tenant=actor.tenant, **cleaned)
            _save(segment)
            _refresh(actor, segment)
        return segment

    @staticmethod
    def update_segment(*, actor: Actor, segment: Segment, **changes: Any) -> Segment:
        """Change the fields given; new conditions (or reactivating) refresh the snapshot."""
        unknown = set(changes) - set(SEGMENT_FIELDS)
        if unknown:
            raise InvalidInput(
                "Unknown segment fields",
                fields={name: "Not a field of a segment" for name in sorted(unknown)},
            )
        _own(actor, segment)
        with transaction.atomic():
            segment = _locked(segment)
            cleaned = _clean(actor.tenant, changes, segment=segment)
            changed = [name for name in cleaned if getattr(segment, name) != cleaned[name]]
            if not changed:
                return segment
            for name in changed:
                setattr(segment, name, cleaned[name])
            _save(segment, [*changed, "updated_at"])
            if segment.type == SegmentType.DYNAMIC and (
                "conditions" in changed or ("is_active" in changed and segment.is_active)
            ):
                _refresh(actor, segment)
        return segment

    @staticmethod
    def delete_segment(*, actor: Actor, segment: Segment) -> None:
        """Delete a segment with its memberships. No events: the segment is gone, not left."""
        _own(actor, segment)
        with transaction.atomic():
            _locked(segment).delete()

    @staticmethod
    def get_segment(*, tenant: Tenant, segment_id: Any) -> Segment:
        """One of the tenant's segments; NotFound otherwise (also another tenant's)."""
        try:
            key = uuid.UUID(str(segment_id))
        except ValueError:
            raise NotFound("No segment with that id") from None
        segment = Segment.objects.filter(tenant=tenant, uuid=key).select_related("tenant").first()
        if segment is None:
            raise NotFound("No segment with that id")
        return segment

    @staticmethod
    def find_segment(*, tenant: Tenant, name: str) -> Segment:
        """The tenant's segment with this key, or this name in any case; NotFound otherwise."""
        name = name.strip()
        segments = Segment.objects.filter(tenant=tenant).select_related("tenant")
        segment = segments.filter(key=name).first() or segments.filter(name__iexact=name).first()
        if segment is None:
            raise NotFound(f"No segment named {name!r}")
        return segment

    @staticmethod
    def list_segments(
        *, tenant: Tenant, type: str | None = None, is_active: bool | None = None
    ) -> QuerySet:
        """The tenant's segments by name."""
        segments = Segment.objects.filter(tenant=tenant).select_related("tenant")
        if type is not None:
            segments = segments.filter(type=type)
        if is_active is not None:
            segments = segments.filter(is_active=is_active)
        return segments

    @staticmethod
    def get_segment_customers(*, segment: Segment, now: dt.datetime | None = None) -> QuerySet:
        """The segment's customers now, as one query: a dynamic one's who meet its conditions
        (each "days since" counted from `now`), a manual one's members."""
        customers = live_customers(segment.tenant)
        if segment.type == SegmentType.MANUAL:
            members = SegmentMembership.objects.filter(segment=segment, customer=OuterRef("pk"))
            return customers.filter(Exists(members))
        condition = language.compile(segment.conditions, now=now or timezone.now())
        return customers.filter(condition)

    @staticmethod
    def count(*, segment: Segment) -> int:
        """How many customers the segment holds now: one query."""
        return SegmentService.get_segment_customers(segment=segment).count()

    @staticmethod
    def preview(*, tenant: Tenant, conditions: Any, sample_size: int | None = None) -> Preview:
        """How many customers conditions select now, and the newest few; writes nothing."""
        tree = language.normalize(conditions, tenant=tenant)
        customers = live_customers(tenant).filter(language.compile(tree, now=timezone.now()))
        size = conf.sample_size() if sample_size is None else sample_size
        sample = list(with_tags(customers.order_by("-created_at", "-pk"))[:size]) if size else []
        return Preview(count=customers.count(), sample=sample, conditions=tree)

    @staticmethod
    def add_customers(*, actor: Actor, segment: Segment, codes: list[str]) -> MembershipChange:
        """Add customers to a manual segment: those newly added (each gets `entered`)."""
        _own(actor, segment)
        _manual(segment)
        customers = _customers_by_code(actor.tenant, codes, missing=InvalidInput, archived=False)
        with transaction.atomic():
            segment = _locked(segment)
            now = timezone.now()
            present = set(
                SegmentMembership.objects.filter(
                    segment=segment, customer__in=customers
                ).values_list("customer_id", flat=True)
            )
            added = [customer for customer in customers if customer.pk not in present]
            SegmentMembership.objects.bulk_create(
                [
                    SegmentMembership(
                        tenant=actor.tenant, segment=segment, customer=customer, joined_at=now
                    )
                    for customer in added
                ],
                batch_size=conf.batch_size(),
            )
            _announce(actor, segment, "entered", [(c.pk, c.code) for c in added])
            _recount(segment, now)
        return MembershipChange(segment, added)

    @staticmethod
    def remove_customers(*, actor: Actor, segment: Segment, codes: list[str]) -> MembershipChange:
        """Take customers out of a manual segment (each gets `left`); NotFound for a code that
        is no customer or not a member."""
        _own(actor, segment)
        _manual(segment)
        customers = _customers_by_code(actor.tenant, codes, missing=NotFound, archived=True)
        with transaction.atomic():
            segment = _locked(segment)
            links = dict(
                SegmentMembership.objects.filter(
                    segment=segment, customer__in=customers
                ).values_list("customer_id", "pk")
            )
            outside = {
                f"codes.{number}": f"{customer.code} is not in {segment.name}"
                for number, customer in enumerate(customers)
                if customer.pk not in links
            }
            if outside:
                raise NotFound("Not in this segment", fields=outside)
            SegmentMembership.objects.filter(pk__in=list(links.values())).delete()
            _announce(actor, segment, "left", [(c.pk, c.code) for c in customers])
            _recount(segment, timezone.now())
        return MembershipChange(segment, customers)

    @staticmethod
    def refresh_memberships(*, actor: Actor, segment: Segment) -> RefreshResult:
        """Bring the snapshot up to date; `entered` and `left` for each customer who changed.

        Safe to run twice: a second refresh finds no one to add or remove and sends nothing.
        """
        _own(actor, segment)
        with transaction.atomic():
            return _refresh(actor, _locked(segment))

    @staticmethod
    def refresh_all(*, actor: Actor) -> list[RefreshResult]:
        """Refresh every active dynamic segment of the actor's tenant, each in its own transaction.

        A segment whose conditions name a field no longer installed is skipped and logged.
        """
        results = []
        segments = SegmentService.list_segments(
            tenant=actor.tenant, type=SegmentType.DYNAMIC, is_active=True
        )
        for segment in segments.order_by("pk"):
            try:
                results.append(SegmentService.refresh_memberships(actor=actor, segment=segment))
            except InvalidInput as error:
                logger.warning("Segment %s not refreshed: %s %s", segment.uuid, error, error.fields)
        return results

    @staticmethod
    def create_default_segments(*, actor: Actor) -> list[Segment]:
        """The default segments (seed 004) the tenant lacks, by key or name; the ones created.

        Safe to call again: nothing is duplicated. They are counted at their first refresh.
        """
        tenant = actor.tenant
        with transaction.atomic():
            existing = Segment.objects.filter(tenant=tenant).values_list("key", "name")
            keys = {key for key, _ in existing}
            names = {name.lower() for _, name in existing}
            created = [
                Segment(
                    tenant=tenant,
                    key=default.key,
                    name=default.name,
                    description=default.description,
                    type=SegmentType.DYNAMIC,
                    conditions=language.normalize(default.conditions, tenant=tenant),
                    is_default=True,
                )
                for default in default_segments(tenant.currency)
                if default.key not in keys and default.name.lower() not in names
            ]
            Segment.objects.bulk_create(created)
        return created


def give_default_segments(tenant: Tenant) -> None:
    """A new tenant's default segments (a tenancy listener, registered in SegmentsConfig.ready)."""
    SegmentService.create_default_segments(actor=Actor.for_system(tenant, "segments"))
