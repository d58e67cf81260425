"""How the core's data moves when one customer is merged into another, and how it moves back.

Registered with `personal_data` as the "customers" merge handler. Every change is written with
queryset updates (so `updated_at` columns keep their values and undo restores rows exactly), and
every row the merge deletes (an exact duplicate contact point, a tag both carried) is journaled
whole so undo can put it back with its id, uuid and timestamps.
"""

import datetime as dt
import uuid
from typing import Any

from django.db.models import Model

from rapport.customers.models import (
    ContactPoint,
    Customer,
    CustomerAddress,
    CustomerTag,
    ExternalIdentity,
    Note,
)
from rapport.customers.personal_data import MergeStep
from rapport.customers.services.customers import PROFILE_FIELDS, REFERRAL_CHAIN_LIMIT
from rapport.tenancy.actors import Actor

NAME = "customers"
EMPTY = ("", None, {})


def plain(value: Any) -> Any:
    """A field value in JSON form, as journals and plans hold it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def row_of(obj: Model) -> dict[str, Any]:
    """Every column of a row in JSON form, enough to insert it again as it was."""
    return {f.attname: plain(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def restore_row(model: type[Model], row: dict[str, Any]) -> None:
    """Insert a journaled row again with its own id, uuid and timestamps."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    values = {name: fields[name].to_python(value) for name, value in row.items()}
    model(**values).save(force_insert=True)
    # auto_now_add set the timestamps to now on insert; put the journaled ones back.
    stamps = {
        name: values[name]
        for name, field in fields.items()
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False)
    }
    if stamps:
        model.objects.filter(pk=values[model._meta.pk.attname]).update(**stamps)


def _field_value(customer: Customer, name: str) -> Any:
    field = Customer._meta.get_field(name)
    return field.to_python(getattr(customer, name))


def _taken_fields(duplicate: Customer, survivor: Customer) -> list[str]:
    return [
        name
        for name in PROFILE_FIELDS
        if getattr(survivor, name) in EMPTY and getattr(duplicate, name) not in EMPTY
    ]


def _referrer_for_survivor(duplicate: Customer, survivor: Customer) -> tuple[Customer | None, str]:
    """The duplicate's referrer the survivor takes (or None), and why."""
    if survivor.referred_by_id is not None and survivor.referred_by_id != duplicate.pk:
        return None, "The survivor has a referrer"
    referrer = duplicate.referred_by
    if referrer is None:
        return None, ""
    if referrer.pk == survivor.pk:
        return None, "The duplicate was referred by the survivor"
    # The referrer must not descend from the survivor (counting the duplicate as the survivor).
    ancestor, steps = referrer, 0
    while ancestor is not None and steps < REFERRAL_CHAIN_LIMIT:
        if ancestor.pk in (survivor.pk, duplicate.pk):
            return None, "It would make a referral loop"
        ancestor, steps = ancestor.referred_by, steps + 1
    return referrer, "The survivor has no referrer"


class CustomerMerging:
    """Profile fields, contact points, addresses, tags, notes, identities and referrals."""

    name = NAME

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """What merging would do to the core's data; writes nothing."""
        steps: list[MergeStep] = []
        for name in PROFILE_FIELDS:
            kept, offered = getattr(survivor, name), getattr(duplicate, name)
            if offered in EMPTY or kept == offered:
                continue
            label = name.replace("_", " ")
            detail = {"survivor": plain(kept), "duplicate": plain(offered)}
            if kept in EMPTY:
                steps.append(
                    MergeStep(NAME, label, "take duplicate's", "The survivor has none", detail)
                )
            else:
                steps.append(
                    MergeStep(NAME, label, "keep survivor's", "The survivor has its own", detail)
                )
        steps += self._plan_contact_points(duplicate, survivor)
        addresses = list(duplicate.addresses.all())
        if addresses:
            keeps_default = survivor.addresses.filter(is_default=True).exists()
            steps.append(
                MergeStep(
                    NAME,
                    f"{len(addresses)} addresses",
                    "move",
                    "The survivor keeps its default address" if keeps_default else "",
                    {"addresses": [str(a.uuid) for a in addresses]},
                )
            )
        steps += self._plan_tags(duplicate, survivor)
        for related, what in (("notes", "notes"), ("external_identities", "external identities")):
            ids = [
                str(value) for value in getattr(duplicate, related).values_list("uuid", flat=True)
            ]
            if ids:
                steps.append(MergeStep(NAME, f"{len(ids)} {what}", "move", "", {related: ids}))
        referred = list(duplicate.referrals.exclude(pk=survivor.pk).values_list("code", flat=True))
        if referred:
            steps.append(
                MergeStep(
                    NAME,
                    f"{len(referred)} referred customers",
                    "move",
                    "They now name the survivor as their referrer",
                    {"customers": referred},
                )
            )
        referrer, why = _referrer_for_survivor(duplicate, survivor)
        if duplicate.referred_by_id is not None:
            action = "take duplicate's" if referrer is not None else "keep survivor's"
            steps.append(
                MergeStep(
                    NAME,
                    "referred by",
                    action,
                    why,
                    {"duplicate": duplicate.referred_by.code},
                )
            )
        return steps

    @staticmethod
    def _plan_contact_points(duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        steps = []
        known = set(survivor.contact_points.values_list("type", "value"))
        primary_types = set(
            survivor.contact_points.filter(is_primary=True).values_list("type", flat=True)
        )
        moving, dropped = [], []
        for point in duplicate.contact_points.all():
            (dropped if (point.type, point.value) in known else moving).append(point)
        if moving:
            kept_primaries = sorted(
                {point.type for point in moving if point.is_primary} & primary_types
            )
            steps.append(
                MergeStep(
                    NAME,
                    f"{len(moving)} contact points",
                    "move",
                    (
                        f"The survivor keeps its primary {', '.join(kept_primaries)}"
                        if kept_primaries
                        else ""
                    ),
                    {"contact_points": [f"{p.type}: {p.value}" for p in moving]},
                )
            )
        for point in dropped:
            steps.append(
                MergeStep(
                    NAME,
                    f"{point.type} {point.value}",
                    "drop duplicate's",
                    "The survivor has the same contact point",
                )
            )
        return steps

    @staticmethod
    def _plan_tags(duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        theirs = dict(duplicate.customer_tags.values_list("tag_id", "tag__name"))
        if not theirs:
            return []
        shared = set(
            survivor.customer_tags.filter(tag_id__in=theirs).values_list("tag_id", flat=True)
        )
        added = sorted(name for tag_id, name in theirs.items() if tag_id not in shared)
        both = sorted(theirs[tag_id] for tag_id in shared)
        detail = {"added": added, "already_on_survivor": both}
        reason = f"Both carry {', '.join(both)}" if both else ""
        return [MergeStep(NAME, f"{len(theirs)} tags", "combine", reason, detail)]

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's core data to the survivor; returns the journal undo needs."""
        journal: dict[str, Any] = {}

        taken = {
            name: {"old": plain(getattr(survivor, name)), "new": plain(getattr(duplicate, name))}
            for name in _taken_fields(duplicate, survivor)
        }
        if taken:
            Customer.objects.filter(pk=survivor.pk).update(
                **{name: getattr(duplicate, name) for name in taken}
            )
            for name in taken:
                setattr(survivor, name, getattr(duplicate, name))
        journal["fields_taken"] = taken

        known = set(survivor.contact_points.values_list("type", "value"))
        primary_types = set(
            survivor.contact_points.filter(is_primary=True).values_list("type", flat=True)
        )
        moved, demoted, dropped = [], [], []
        for point in duplicate.contact_points.all():
            if (point.type, point.value) in known:
                dropped.append(row_of(point))
                continue
            moved.append(point.pk)
            if point.is_primary and point.type in primary_types:
                demoted.append(point.pk)
        ContactPoint.objects.filter(pk__in=[row["id"] for row in dropped]).delete()
        ContactPoint.objects.filter(pk__in=moved).update(customer=survivor)
        ContactPoint.objects.filter(pk__in=demoted).update(is_primary=False)
        journal["contact_points"] = {"moved": moved, "demoted": demoted, "dropped": dropped}

        addresses = list(duplicate.addresses.values_list("pk", "is_default"))
        demoted = []
        if survivor.addresses.filter(is_default=True).exists():
            demoted = [pk for pk, is_default in addresses if is_default]
        CustomerAddress.objects.filter(pk__in=[pk for pk, _ in addresses]).update(customer=survivor)
        CustomerAddress.objects.filter(pk__in=demoted).update(is_default=False)
        journal["addresses"] = {"moved": [pk for pk, _ in addresses], "demoted": demoted}

        shared = set(survivor.customer_tags.values_list("tag_id", flat=True))
        links = list(duplicate.customer_tags.all())
        dropped = [row_of(link) for link in links if link.tag_id in shared]
        moved = [link.pk for link in links if link.tag_id not in shared]
        CustomerTag.objects.filter(pk__in=[row["id"] for row in dropped]).delete()
        CustomerTag.objects.filter(pk__in=moved).update(customer=survivor)
        journal["tags"] = {"moved": moved, "dropped": dropped}

        for model, key in ((Note, "notes"), (ExternalIdentity, "external_identities")):
            rows = model.objects.filter(customer=duplicate)
            journal[key] = list(rows.values_list("pk", flat=True))
            rows.update(customer=survivor)

        journal["referrals"] = self._merge_referrals(duplicate, survivor)
        return journal

    @staticmethod
    def _merge_referrals(duplicate: Customer, survivor: Customer) -> dict[str, Any]:
        referred = list(
            Customer.objects.filter(referred_by=duplicate)
            .exclude(pk=survivor.pk)
            .values_list("pk", flat=True)
        )
        Customer.objects.filter(pk__in=referred).update(referred_by=survivor)
        referrer, _ = _referrer_for_survivor(duplicate, survivor)
        old = survivor.referred_by_id
        if referrer is not None:
            new = referrer.pk
        elif old == duplicate.pk:
            new = None  # the survivor was referred by the duplicate, that is by itself
        else:
            new = old
        if new != old:
            Customer.objects.filter(pk=survivor.pk).update(referred_by_id=new)
            survivor.referred_by_id = new
        return {
            "repointed": referred,
            "survivor_referred_by": {"old": old, "new": new} if new != old else None,
        }

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """What changed since the merge that undo would overwrite or cannot bring back."""
        blockers = []
        survivor = Customer.objects.get(pk=survivor.pk)
        for name, values in journal["fields_taken"].items():
            if plain(_field_value(survivor, name)) != values["new"]:
                blockers.append(f"The survivor's {name.replace('_', ' ')} changed since the merge")
        change = journal["referrals"]["survivor_referred_by"]
        if change is not None and survivor.referred_by_id != change["new"]:
            blockers.append("The survivor's referrer changed since the merge")
        moved = {
            ContactPoint: ("contact points", journal["contact_points"]["moved"]),
            CustomerAddress: ("addresses", journal["addresses"]["moved"]),
            CustomerTag: ("tags", journal["tags"]["moved"]),
            Note: ("notes", journal["notes"]),
            ExternalIdentity: ("external identities", journal["external_identities"]),
        }
        for model, (what, pks) in moved.items():
            still = model.objects.filter(pk__in=pks, customer=survivor).count()
            if still != len(pks):
                blockers.append(f"{len(pks) - still} moved {what} were removed since the merge")
        return blockers

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Put the duplicate's core data back as the journal says."""
        change = journal["referrals"]["survivor_referred_by"]
        if change is not None:
            Customer.objects.filter(pk=survivor.pk).update(referred_by_id=change["old"])
        Customer.objects.filter(
            pk__in=journal["referrals"]["repointed"], referred_by=survivor
        ).update(referred_by=duplicate)

        for model, key in ((Note, "notes"), (ExternalIdentity, "external_identities")):
            model.objects.filter(pk__in=journal[key]).update(customer=duplicate)

        CustomerTag.objects.filter(pk__in=journal["tags"]["moved"]).update(customer=duplicate)
        for row in journal["tags"]["dropped"]:
            restore_row(CustomerTag, row)

        addresses = journal["addresses"]
        CustomerAddress.objects.filter(pk__in=addresses["moved"]).update(customer=duplicate)
        CustomerAddress.objects.filter(pk__in=addresses["demoted"]).update(is_default=True)

        points = journal["contact_points"]
        ContactPoint.objects.filter(pk__in=points["moved"]).update(customer=duplicate)
        ContactPoint.objects.filter(pk__in=points["demoted"]).update(is_primary=True)
        for row in points["dropped"]:
            restore_row(ContactPoint, row)
        self._keep_one_primary_per_type(survivor)
        self._keep_one_primary_per_type(duplicate)

        taken = journal["fields_taken"]
        if taken:
            Customer.objects.filter(pk=survivor.pk).update(
                **{
                    name: Customer._meta.get_field(name).to_python(values["old"])
                    for name, values in taken.items()
                }
            )

    @staticmethod
    def _keep_one_primary_per_type(customer: Customer) -> None:
        """A type left without a primary by the undo (newer points were added) gets its oldest."""
        points = list(customer.contact_points.order_by("created_at", "pk"))
        with_primary = {point.type for point in points if point.is_primary}
        for point in points:
            if point.type not in with_primary:
                ContactPoint.objects.filter(pk=point.pk).update(is_primary=True)
                with_primary.add(point.type)
