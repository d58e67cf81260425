"""A customer's ids in other systems, and finding a customer by one of them."""

import re
from typing import Any

from django.db import IntegrityError, transaction

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer, ExternalIdentity
from rapport.customers.normalization import is_plain_json
from rapport.customers.services.customers import find_customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

PROVIDER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
EXTERNAL_ID_LIMIT = 200


def _provider(provider: str) -> str:
    # Providers are slugs; "Shopify" and "shopify" name the same system.
    return provider.strip().lower()


def _clean_identity(provider: str, external_id: str, metadata: Any) -> tuple[str, str, dict]:
    """Validated provider, external id and metadata; InvalidInput naming every bad one."""
    provider, external_id = _provider(provider), external_id.strip()
    metadata = {} if metadata is None else metadata
    errors = {}
    if not PROVIDER_PATTERN.match(provider):
        errors["provider"] = (
            "A lower-case slug of at most 50: letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    if not external_id:
        errors["external_id"] = "Required"
    elif len(external_id) > EXTERNAL_ID_LIMIT:
        errors["external_id"] = f"At most {EXTERNAL_ID_LIMIT} characters"
    if not isinstance(metadata, dict):
        errors["metadata"] = "Metadata is a JSON object"
    elif not is_plain_json(metadata):
        errors["metadata"] = (
            "Metadata holds plain JSON only: finite numbers, integers within 64 bits"
        )
    if errors:
        raise InvalidInput("The external identity is not valid", fields=errors)
    return provider, external_id, metadata


def _already_linked(tenant: Tenant, provider: str, external_id: str) -> Conflict | None:
    owner = (
        ExternalIdentity.objects.filter(tenant=tenant, provider=provider, external_id=external_id)
        .values_list("customer__code", flat=True)
        .first()
    )
    if owner is None:
        return None
    return Conflict(
        f"{provider} id {external_id!r} is already linked to customer {owner!r}",
        fields={"external_id": f"Linked to customer {owner}"},
    )


class ExternalIdentityService:
    """Link customers to their ids in other systems; each id belongs to one customer."""

    @staticmethod
    def get_identity(*, actor: Actor, code: str, identity_id) -> ExternalIdentity:
        """The identity with this id on the tenant's customer; NotFound otherwise."""
        identity = (
            ExternalIdentity.objects.filter(
                tenant=actor.tenant, customer=find_customer(actor.tenant, code), uuid=identity_id
            )
            .select_related("customer")
            .first()
        )
        if identity is None:
            raise NotFound("No external identity with that id on this customer")
        return identity

    @staticmethod
    def link(
        *,
        actor: Actor,
        code: str,
        provider: str,
        external_id: str,
        metadata: dict[str, Any] | None = None,
    ) -> ExternalIdentity:
        """Record the customer's id in another system; an id already linked is a Conflict."""
        provider, external_id, metadata = _clean_identity(provider, external_id, metadata)
        with transaction.atomic():
            customer = find_customer(actor.tenant, code)
            if customer is None:
                raise NotFound(f"No customer with code {code!r}")
            conflict = _already_linked(actor.tenant, provider, external_id)
            if conflict is not None:
                raise conflict
            try:
                with transaction.atomic():
                    identity = ExternalIdentity.objects.create(
                        tenant=actor.tenant,
                        customer=customer,
                        provider=provider,
                        external_id=external_id,
                        metadata=metadata,
                    )
            except IntegrityError:
                # Linked by a concurrent request between the check and the insert.
                raise _already_linked(actor.tenant, provider, external_id) or Conflict(
                    f"{provider} id {external_id!r} is already linked",
                    fields={"external_id": "Already linked"},
                ) from None
            hooks.publish(
                CustomerChange(
                    kind="external_identity_linked",
                    customer=customer,
                    actor=actor,
                    detail={
                        "external_identity": str(identity.uuid),
                        "provider": provider,
                        "external_id": external_id,
                    },
                )
            )
        return identity

    @staticmethod
    def unlink(*, actor: Actor, code: str, identity_id) -> None:
        """Forget the customer's id in another system."""
        with transaction.atomic():
            identity = ExternalIdentityService.get_identity(
                actor=actor, code=code, identity_id=identity_id
            )
            identity.delete()
            hooks.publish(
                CustomerChange(
                    kind="external_identity_unlinked",
                    customer=identity.customer,
                    actor=actor,
                    detail={
                        "external_identity": str(identity.uuid),
                        "provider": identity.provider,
                        "external_id": identity.external_id,
                    },
                )
            )

    @staticmethod
    def find_customer(*, tenant: Tenant, provider: str, external_id: str) -> Customer:
        """The tenant's customer linked to this id in another system; NotFound otherwise."""
        customer = Customer.objects.filter(
            tenant=tenant,
            external_identities__provider=_provider(provider),
            external_identities__external_id=external_id.strip(),
        ).first()
        if customer is None:
            raise NotFound(f"No customer is linked to {provider} id {external_id!r}")
        return customer
