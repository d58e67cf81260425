"""The tenant's tags, and tagging customers with them."""

import re
from typing import Any

from django.db import transaction

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import CustomerTag, Tag
from rapport.customers.services.customers import CustomerService
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _tag_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("A tag needs a name", fields={"name": "Required"})
    if len(name) > 50:
        raise InvalidInput("The tag name is too long", fields={"name": "At most 50 characters"})
    return name


def _tag_color(color: str) -> str:
    if not HEX_COLOR.fullmatch(color):
        raise InvalidInput(
            "The tag colour is not valid", fields={"color": "Use a hex colour such as #ffc107"}
        )
    color = color.lower()
    if len(color) == 4:
        color = "#" + "".join(digit * 2 for digit in color[1:])
    return color


def _name_is_taken(tenant: Tenant, name: str, exclude_pk: int | None = None) -> bool:
    return Tag.objects.filter(tenant=tenant, name__iexact=name).exclude(pk=exclude_pk).exists()


class TagService:
    """The tenant's tags, and tagging customers with them."""

    @staticmethod
    def get_tag(*, tenant: Tenant, tag_id) -> Tag:
        tag = Tag.objects.filter(tenant=tenant, uuid=tag_id).first()
        if tag is None:
            raise NotFound("No tag with that id")
        return tag

    @staticmethod
    def create_tag(
        *,
        actor: Actor,
        name: str,
        color: str = "#6c757d",
        description: str = "",
        is_active: bool = True,
    ) -> Tag:
        """A new tag; names are unique per tenant, whatever their case."""
        name, color = _tag_name(name), _tag_color(color)
        with transaction.atomic():
            if _name_is_taken(actor.tenant, name):
                raise Conflict(f"A tag named {name!r} exists", fields={"name": "Already taken"})
            return Tag.objects.create(
                tenant=actor.tenant,
                name=name,
                color=color,
                description=description.strip(),
                is_active=is_active,
            )

    @staticmethod
    def update_tag(*, actor: Actor, tag_id, **fields: Any) -> Tag:
        """Rename, recolour, describe, activate or deactivate a tag."""
        with transaction.atomic():
            tag = Tag.objects.select_for_update().filter(tenant=actor.tenant, uuid=tag_id).first()
            if tag is None:
                raise NotFound("No tag with that id")
            if fields.get("name") is not None:
                fields["name"] = _tag_name(fields["name"])
                if _name_is_taken(actor.tenant, fields["name"], exclude_pk=tag.pk):
                    raise Conflict(
                        f"A tag named {fields['name']!r} exists", fields={"name": "Already taken"}
                    )
            if fields.get("color") is not None:
                fields["color"] = _tag_color(fields["color"])
            for name, value in fields.items():
                if value is not None:
                    setattr(tag, name, value.strip() if isinstance(value, str) else value)
            tag.save()
        return tag

    @staticmethod
    def delete_tag(*, actor: Actor, tag_id) -> None:
        """Delete a tag and take it off every customer."""
        deleted, _ = Tag.objects.filter(tenant=actor.tenant, uuid=tag_id).delete()
        if not deleted:
            raise NotFound("No tag with that id")

    @staticmethod
    def add_tags(
        *, actor: Actor, code: str, names: list[str], create_missing: bool = True
    ) -> list[Tag]:
        """Tag a customer by tag names, creating unknown tags; already-present tags are kept."""
        tenant = actor.tenant
        unique: dict[str, str] = {}  # one entry per name whatever its case, first spelling kept
        for name in map(_tag_name, names):
            unique.setdefault(name.lower(), name)
        names = list(unique.values())
        if not names:
            raise InvalidInput("Name at least one tag", fields={"tags": "Required"})
        with transaction.atomic():
            customer = CustomerService.get_customer(tenant=tenant, code=code)
            existing = {
                tag.name.lower(): tag
                for tag in Tag.objects.filter(
                    tenant=tenant, name__iregex=r"^(" + "|".join(map(re.escape, names)) + r")$"
                )
            }
            inactive = [tag.name for tag in existing.values() if not tag.is_active]
            if inactive:
                raise InvalidInput(
                    "Inactive tags cannot be added", fields={"tags": f"Inactive: {inactive}"}
                )
            missing = [name for name in names if name.lower() not in existing]
            if missing and not create_missing:
                raise InvalidInput("Unknown tags", fields={"tags": f"No such tags: {missing}"})
            for name in missing:
                existing[name.lower()] = Tag.objects.create(tenant=tenant, name=name)
            tags = [existing[name.lower()] for name in names]
            already = set(
                CustomerTag.objects.filter(customer=customer, tag__in=tags).values_list(
                    "tag_id", flat=True
                )
            )
            added = [tag for tag in tags if tag.pk not in already]
            CustomerTag.objects.bulk_create(
                CustomerTag(
                    tenant=tenant,
                    customer=customer,
                    tag=tag,
                    added_by=actor.label,
                    added_by_user_id=actor.user_id,
                )
                for tag in added
            )
            if added:
                hooks.publish(
                    CustomerChange(
                        kind="tagged",
                        customer=customer,
                        actor=actor,
                        detail={"tags": [tag.name for tag in added]},
                    )
                )
        return tags

    @staticmethod
    def remove_tag(*, actor: Actor, code: str, tag_name: str) -> None:
        """Take a tag off a customer; NotFound if the customer does not have it."""
        with transaction.atomic():
            customer = CustomerService.get_customer(tenant=actor.tenant, code=code)
            link = (
                CustomerTag.objects.filter(customer=customer, tag__name__iexact=tag_name)
                .select_related("tag")
                .first()
            )
            if link is None:
                raise NotFound(f"The customer has no tag named {tag_name!r}")
            link.delete()
            hooks.publish(
                CustomerChange(
                    kind="untagged",
                    customer=customer,
                    actor=actor,
                    detail={"tags": [link.tag.name]},
                )
            )
