"""Finding a chunk's customers at once, by code, email, phone or id in another system.

The same answers as `IdentifierService.find_by_identifier` and `find_customer`, a few queries
per chunk instead of one per row: codes first, then the identity app's identifiers, then the
customers' own email and phone fields; a merged customer stands for its survivor.
"""

from collections.abc import Iterable

from django.apps import apps
from django.db.models import F, Q

from rapport.customers.models import Customer, ExternalIdentity
from rapport.tenancy.models import Tenant


def identity_installed() -> bool:
    return apps.is_installed("rapport.identity")


class CustomerDirectory:
    """The customers of one chunk, found by every key its rows carry, and those created since."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        # Each key finds a customer's pk; `customers` holds the newest copy of each.
        self.codes: dict[str, int] = {}
        self.emails: dict[str, int] = {}
        self.phones: dict[str, int] = {}
        self.external: dict[tuple[str, str], int] = {}
        self.customers: dict[int, Customer] = {}

    def _get(self, keys: dict, key) -> Customer | None:
        pk = keys.get(key) if key else None
        return None if pk is None else self.customers[pk]

    def by_code(self, code: str) -> Customer | None:
        return self._get(self.codes, code)

    def by_email(self, email: str) -> Customer | None:
        return self._get(self.emails, email)

    def by_phone(self, phone: str) -> Customer | None:
        return self._get(self.phones, phone)

    def by_external(self, key: tuple[str, str] | None) -> Customer | None:
        return self._get(self.external, key)

    def known(self) -> list[Customer]:
        return list(self.customers.values())

    def load(
        self,
        *,
        codes: Iterable[str] = (),
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        external: Iterable[tuple[str, str]] = (),
    ) -> "CustomerDirectory":
        """Look up every key at once; keys that find no one are simply absent."""
        codes, emails, phones = set(codes) - {""}, set(emails) - {""}, set(phones) - {""}
        external = set(external)
        found: dict[str, dict] = {"code": {}, "email": {}, "phone": {}}
        pending: dict[tuple, int] = {}  # key -> customer pk, before survivors are known
        rows = Customer.objects.filter(tenant=self.tenant)
        if codes:
            for pk, code in rows.filter(code__in=codes).values_list("pk", "code"):
                pending[("code", code)] = pk
        if identity_installed() and (emails or phones):
            from rapport.identity.models import CustomerIdentifier

            matches = Q(type="email", value__in=emails) | Q(type="phone", value__in=phones)
            identifiers = CustomerIdentifier.objects.filter(matches, tenant=self.tenant)
            for type, value, pk in identifiers.values_list("type", "value", "customer_id"):
                pending[(type, value)] = pk
        emails -= {value for type, value in pending if type == "email"}
        phones -= {value for type, value in pending if type == "phone"}
        if emails or phones:
            # The oldest live customer with the value in their own fields, as identity does.
            fields = rows.filter(
                Q(email__in=emails) | Q(phone__in=phones) | Q(phone_secondary__in=phones)
            ).order_by(F("merged_into").asc(nulls_first=True), "created_at", "pk")
            secondary = {}
            for pk, email, phone, phone_secondary in fields.values_list(
                "pk", "email", "phone", "phone_secondary"
            ):
                if email in emails:
                    pending.setdefault(("email", email), pk)
                if phone in phones:
                    pending.setdefault(("phone", phone), pk)
                if phone_secondary in phones:
                    secondary.setdefault(("phone", phone_secondary), pk)
            for key, pk in secondary.items():
                pending.setdefault(key, pk)
        if external:
            links = Q(pk__in=[])
            for provider, external_id in external:
                links |= Q(provider=provider, external_id=external_id)
            identities = ExternalIdentity.objects.filter(links, tenant=self.tenant)
            for provider, external_id, pk in identities.values_list(
                "provider", "external_id", "customer_id"
            ):
                pending[("external", (provider, external_id))] = pk
        customers = self._survivors(set(pending.values()))
        for (kind, key), pk in pending.items():
            customer = customers.get(pk)
            if customer is None:
                continue
            self.customers.setdefault(customer.pk, customer)
            if kind == "external":
                self.external[key] = customer.pk
            else:
                found[kind][key] = customer.pk
        self.codes.update(found["code"])
        self.emails.update(found["email"])
        self.phones.update(found["phone"])
        return self

    def _survivors(self, pks: set[int]) -> dict[int, Customer]:
        """pk -> the customer, or the one it was merged into."""
        if not pks:
            return {}
        customers = {c.pk: c for c in Customer.objects.filter(pk__in=pks)}
        merged = {c.merged_into_id for c in customers.values() if c.merged_into_id}
        survivors = {c.pk: c for c in Customer.objects.filter(pk__in=merged)} if merged else {}
        return {
            pk: survivors.get(c.merged_into_id) if c.merged_into_id else c
            for pk, c in customers.items()
            if not c.merged_into_id or c.merged_into_id in survivors
        }

    def remember(
        self,
        customer: Customer,
        *,
        code: str = "",
        email: str = "",
        phone: str = "",
        external: tuple[str, str] | None = None,
    ) -> None:
        """Note a customer the chunk created or changed, so later rows find it as it is now."""
        self.customers[customer.pk] = customer
        self.codes[customer.code] = customer.pk
        if code:
            self.codes[code] = customer.pk
        if email:
            self.emails.setdefault(email, customer.pk)
        if phone:
            self.phones.setdefault(phone, customer.pk)
        if external is not None:
            self.external.setdefault(external, customer.pk)
