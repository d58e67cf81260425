"""Importing customers: create or update each row's customer, found by code, email or phone.

Every write goes through the services (customers, identity, consent), so an imported customer
gets the same timeline entries and events as one created by hand. A row is all or nothing.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

from rapport.customers.models import Customer, CustomerAddress, CustomerTag, Note
from rapport.customers.services import (
    CODE_PATTERN,
    AddressService,
    CustomerService,
    ExternalIdentityService,
    NoteService,
    TagService,
)
from rapport.exceptions import Conflict, InvalidInput, RapportError
from rapport.ingest.csv import values
from rapport.ingest.csv.directory import CustomerDirectory, identity_installed
from rapport.ingest.csv.engine import Importer, Outcome, RowError, RowProblem, Unit, error_rows
from rapport.ingest.csv.mapping import ColumnMap, Field
from rapport.ingest.csv.reading import Row

SOURCE = "import"  # the customers' `source`, and the source of the consent they gave

PROFILE = (
    Field("first_name", "First name", ("first name", "given name", "firstname", "forename")),
    Field("last_name", "Last name", ("last name", "surname", "family name", "lastname")),
    Field("email", "Email address", ("e-mail", "email address", "e-mail address", "mail")),
    Field(
        "phone",
        "Phone number; written locally it is read in the tenant's phone region",
        ("phone number", "mobile", "mobile phone", "mobile number", "cell", "telephone", "tel"),
    ),
    Field("phone_secondary", "A second phone number", ("second phone", "other phone")),
    Field("birthday", "Date of birth, YYYY-MM-DD", ("date of birth", "dob", "birth date")),
    Field("gender", "female, male, non_binary or other", ("sex",)),
    Field("preferred_language", "A language tag such as en or pt-BR", ("language",)),
    Field(
        "preferred_contact_method",
        "whatsapp, sms, email, phone or push",
        ("contact method", "preferred contact"),
    ),
    Field("customer_type", "A free label: regular, vip, business…", ("type", "customer type")),
    Field("source", "The channel they joined through (default: import)", ()),
    Field("acquisition_source", "Marketing source: Google, a flyer…", ("acquisition",)),
    Field("referral_source", "Who or what referred them, as text", ("referral",)),
    Field("instagram_handle", "Instagram handle or profile URL", ("instagram",)),
    Field("facebook_url", "Facebook profile URL", ("facebook",)),
)
FIELDS = (
    Field(
        "code",
        "The customer's code: a row with a known code updates that customer",
        ("customer code", "customer"),
    ),
    *PROFILE,
    Field("tags", "Tag names separated by | or ;, created when new", ("labels", "tag")),
    Field("note", "A note to add (once: the same text is not added twice)", ("notes",)),
    Field("provider", "The other system of external_id: shopify, square…", ()),
    Field("external_id", "The customer's id in that system", ("external id",)),
    Field("address_line1", "Street address", ("address", "address 1", "street")),
    Field("address_line2", "Apartment, suite…", ("address 2",)),
    Field("neighborhood", "Neighbourhood or district", ("neighbourhood", "district")),
    Field("city", "City", ("town",)),
    Field("state", "State or region", ("region", "province")),
    Field("postal_code", "Postal code", ("postcode", "zip", "zip code")),
    Field("country", "ISO 3166-1 alpha-2 code, e.g. NG", ("country code",)),
    Field("email_marketing", "yes or no: consent to email marketing", ("email consent",)),
    Field("sms_marketing", "yes or no: consent to SMS marketing", ("sms consent",)),
    Field("whatsapp_marketing", "yes or no: consent to WhatsApp marketing", ("whatsapp consent",)),
)
CONSENT_FIELDS = {
    "email_marketing": "email",
    "sms_marketing": "sms",
    "whatsapp_marketing": "whatsapp",
}
ADDRESS_FIELDS = {
    "address_line1": "line1",
    "address_line2": "line2",
    "neighborhood": "neighborhood",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
    "country": "country",
}
PLAIN_PROFILE = tuple(f.name for f in PROFILE if f.name not in ("email", "phone", "birthday"))
# Service field names as the file calls them, for errors.
FIELD_NAMES = {"date_of_birth": "birthday", "line1": "address_line1", "line2": "address_line2"}


def consent_installed() -> bool:
    return apps.is_installed("rapport.consent")


@dataclass
class CustomerRecord:
    """One row, read: the keys that find the customer and what to set on them."""

    code: str = ""
    email: str = ""
    phone: str = ""
    external: tuple[str, str] | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    note: str = ""
    address: dict[str, str] = field(default_factory=dict)
    consents: dict[str, bool] = field(default_factory=dict)  # channel -> opted in


@dataclass
class Known:
    """What the chunk's customers already have, read once per chunk."""

    tags: dict[int, set[str]] = field(default_factory=dict)
    consents: dict[tuple[int, str], str] = field(default_factory=dict)
    addresses: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    notes: set[tuple[int, str]] = field(default_factory=set)


class CustomersImporter(Importer):
    """Create or update customers; dedupe by code, then email, then phone, then external id."""

    kind = "customers"
    fields = FIELDS

    @classmethod
    def unavailable_fields(cls) -> dict[str, str]:
        if consent_installed():
            return {}
        reason = "The consent app is not installed: consent cannot be imported"
        return dict.fromkeys(CONSENT_FIELDS, reason)

    @classmethod
    def available_fields(cls) -> tuple[Field, ...]:
        unavailable = cls.unavailable_fields()
        return tuple(f for f in FIELDS if f.name not in unavailable)

    @classmethod
    def check_columns(cls, columns: ColumnMap) -> None:
        if ("provider" in columns) != ("external_id" in columns):
            missing = "external_id" if "provider" in columns else "provider"
            raise InvalidInput(
                "The column mapping is not valid",
                fields={missing: "provider and external_id are mapped together"},
            )
        if not any(
            name in columns for name in ("code", "first_name", "last_name", "email", "phone")
        ):
            raise InvalidInput(
                "The column mapping is not valid",
                fields={"email": "Map at least one of code, first_name, last_name, email, phone"},
            )

    def __init__(self, actor, columns: ColumnMap) -> None:
        super().__init__(actor, columns)
        self.normalizer = values.Normalizer(self.tenant.default_phone_region)

    # Reading

    def units(self, rows: Iterable[Row]) -> Iterator[Unit]:
        for row in rows:
            try:
                yield Unit([row.number], self.parse(row))
            except RowProblem as problem:
                yield Unit(
                    [row.number], errors=[RowError(row.number, problem.field, problem.message)]
                )

    def parse(self, row: Row) -> CustomerRecord:
        cells = self.values(row)

        def cell(name: str) -> str:
            return cells.get(name, "")

        record = CustomerRecord()
        record.code = cell("code")
        if record.code and not CODE_PATTERN.fullmatch(record.code):
            raise RowProblem(
                "code", "Letters, digits, '-' and '_', at most 40, starting alphanumeric"
            )
        record.email = self.normalizer.email("email", cell("email"))
        record.phone = self.normalizer.phone("phone", cell("phone"))
        if record.email:
            record.profile["email"] = record.email
        if record.phone:
            record.profile["phone"] = record.phone
        if cell("birthday"):
            record.profile["date_of_birth"] = values.iso_date("birthday", cell("birthday"))
        for name in PLAIN_PROFILE:
            if cell(name):
                record.profile[name] = cell(name)
        if not record.code and not any(
            record.profile.get(name) for name in ("first_name", "last_name", "email", "phone")
        ):
            raise RowProblem("", "A customer needs a code, a name, an email or a phone number")
        provider, external_id = cell("provider").lower(), cell("external_id")
        if bool(provider) != bool(external_id):
            raise RowProblem(
                "external_id" if provider else "provider",
                "provider and external_id are given together",
            )
        if provider:
            record.external = (provider, external_id)
        record.tags = values.names(cell("tags"))
        record.note = cell("note")
        record.address = {
            target: cell(name) for name, target in ADDRESS_FIELDS.items() if cell(name)
        }
        if record.address and not record.address.get("line1"):
            raise RowProblem("address_line1", "An address needs its first line")
        for name, channel in CONSENT_FIELDS.items():
            answer = values.yes_no(name, cell(name))
            if answer is not None:
                record.consents[channel] = answer
        return record

    # Writing

    def write(self, units: list[Unit]) -> list[Outcome | list[RowError]]:
        records = [unit.value for unit in units]
        directory = CustomerDirectory(self.tenant).load(
            codes=[r.code for r in records],
            emails=[r.email for r in records],
            phones=[r.phone for r in records],
            external=[r.external for r in records if r.external],
        )
        known = self._known(directory, records)
        return [self._write_one(record, directory, known) for record in records]

    def failure(self, unit: Unit, error: Exception) -> list[RowError]:
        if isinstance(error, RapportError):
            fields = {
                FIELD_NAMES.get(name, name): problem for name, problem in error.fields.items()
            }
            return error_rows(unit, error, fields)
        return super().failure(unit, error)

    def _known(self, directory: CustomerDirectory, records: list[CustomerRecord]) -> Known:
        """The tags, consents, addresses and notes the chunk's known customers already have."""
        known = Known()
        pks = set(directory.customers)
        if not pks:
            return known
        if any(r.tags for r in records):
            for pk, name in CustomerTag.objects.filter(customer__in=pks).values_list(
                "customer_id", "tag__name"
            ):
                known.tags.setdefault(pk, set()).add(name.lower())
        if consent_installed() and any(r.consents for r in records):
            from rapport.consent.models import CommunicationConsent

            for pk, channel, status in CommunicationConsent.objects.filter(
                customer__in=pks
            ).values_list("customer_id", "channel", "status"):
                known.consents[(pk, channel)] = status
        if any(r.address for r in records):
            for pk, line1, city in CustomerAddress.objects.filter(customer__in=pks).values_list(
                "customer_id", "line1", "city"
            ):
                known.addresses.setdefault(pk, set()).add((line1.lower(), city.lower()))
        notes = {r.note for r in records if r.note}
        if notes:
            known.notes = set(
                Note.objects.filter(customer__in=pks, content__in=notes).values_list(
                    "customer_id", "content"
                )
            )
        return known

    def _find(self, record: CustomerRecord, directory: CustomerDirectory) -> Customer | None:
        if record.code:
            return directory.by_code(record.code)
        by_email = directory.by_email(record.email)
        by_phone = directory.by_phone(record.phone)
        if by_email and by_phone and by_email.pk != by_phone.pk:
            raise Conflict(
                f"The email finds customer {by_email.code} and the phone customer "
                f"{by_phone.code}; merge them first",
                fields={"phone": f"Belongs to customer {by_phone.code}"},
            )
        found = by_email or by_phone
        if found is None and record.external:
            found = directory.by_external(record.external)
        return found

    def _create(self, record: CustomerRecord) -> tuple[Customer, bool]:
        profile = {"source": SOURCE, **record.profile}
        if identity_installed() and not record.code and (record.email or record.phone):
            from rapport.identity.services import IdentifierService

            type, value = ("email", record.email) if record.email else ("phone", record.phone)
            return IdentifierService.find_or_create_customer(
                actor=self.actor, type=type, value=value, defaults=profile, source=SOURCE
            )
        customer = CustomerService.create_customer(
            actor=self.actor, code=record.code or None, **profile
        )
        return customer, True

    def _write_one(
        self, record: CustomerRecord, directory: CustomerDirectory, known: Known
    ) -> Outcome:
        customer = self._find(record, directory)
        changed = created = False
        if customer is None:
            # Identity may still find them by a key this chunk did not look up; then the
            # profile is brought up to date below like any customer found.
            customer, created = self._create(record)
        if not created and record.profile:
            before = customer.updated_at
            customer = CustomerService.update_customer(
                actor=self.actor, code=customer.code, **record.profile
            )
            changed |= customer.updated_at != before
        directory.remember(customer, code=record.code, email=record.email, phone=record.phone)
        changed |= self._extras(customer, record, directory, known)
        if created:
            return Outcome.CREATED
        return Outcome.UPDATED if changed else Outcome.UNCHANGED

    def _extras(
        self, customer: Customer, record: CustomerRecord, directory: CustomerDirectory, known: Known
    ) -> bool:
        """Tags, external id, address, note and consent; whether any of them changed."""
        actor, code, pk = self.actor, customer.code, customer.pk
        changed = False
        has_tags = known.tags.setdefault(pk, set())
        missing = [name for name in record.tags if name.lower() not in has_tags]
        if missing:
            TagService.add_tags(actor=actor, code=code, names=missing)
            has_tags.update(name.lower() for name in missing)
            changed = True
        if record.external:
            owner = directory.by_external(record.external)
            if owner is None:
                provider, external_id = record.external
                ExternalIdentityService.link(
                    actor=actor, code=code, provider=provider, external_id=external_id
                )
                directory.remember(customer, external=record.external)
                changed = True
            elif owner.pk != pk:
                raise Conflict(
                    f"{record.external[0]} id {record.external[1]!r} is linked to customer "
                    f"{owner.code}",
                    fields={"external_id": f"Linked to customer {owner.code}"},
                )
        if record.address:
            key = (record.address["line1"].lower(), record.address.get("city", "").lower())
            addresses = known.addresses.setdefault(pk, set())
            if key not in addresses:
                AddressService.add_address(actor=actor, code=code, **record.address)
                addresses.add(key)
                changed = True
        if record.note and (pk, record.note) not in known.notes:
            NoteService.add_note(actor=actor, code=code, content=record.note)
            known.notes.add((pk, record.note))
            changed = True
        if record.consents:
            changed |= self._consent(customer, record.consents, known)
        return changed

    def _consent(self, customer: Customer, consents: dict[str, bool], known: Known) -> bool:
        from rapport.consent.services import ConsentService

        changed = False
        for channel, opted_in in consents.items():
            status = known.consents.get((customer.pk, channel), "pending")
            if opted_in and status != "opted_in":
                ConsentService.grant_consent(
                    actor=self.actor, code=customer.code, channel=channel,
                    legal_basis="consent", source=SOURCE,
                )  # fmt: skip
            elif not opted_in and status != "opted_out":
                ConsentService.revoke_consent(
                    actor=self.actor, code=customer.code, channel=channel, source=SOURCE
                )
            else:
                continue
            known.consents[(customer.pk, channel)] = "opted_in" if opted_in else "opted_out"
            changed = True
        return changed
