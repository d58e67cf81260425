"""Reproducible demo rows: the same seed gives the same customers, notes, tags and events.

One random stream is read customer after customer, so the data does not depend on the batch
size. Rows are plain tuples in the column order of the `*_FIELDS` below, ready for COPY or a
multi-row INSERT. The optional apps' rows (`rapport.demo.optional_apps`) come from streams of
their own, so installing an app adds rows without changing anyone's name, phone or history.
"""

import datetime as dt
import hashlib
import math
import random
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import phonenumbers

from rapport.demo.businesses import Business
from rapport.demo.locales import Locale, ascii_slug

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # as rapport.customers.services
CODE_LENGTH = 10
HISTORY_DAYS = 730
ACTOR = "system:demo"

PHONE_ONLY_SHARE = 0.15
REFERRED_SHARE = 0.10
EMAIL_SHARE = 0.45
PHONE_SHARE = 0.93  # of customers with a name; phone-only customers always have one
DATE_OF_BIRTH_SHARE = 0.45
ADDRESS_SHARE = 0.35
NOTE_SHARE = 0.30
ARCHIVED_SHARE = 0.02
# Touchpoints (orders, visits, contacts) per customer after the first: 0 to 8, mean about 2.3.
TOUCHPOINT_COUNTS = (
    (0,) * 25
    + (1,) * 20
    + (2,) * 17
    + (3,) * 13
    + (4,) * 10
    + (5,) * 7
    + (6,) * 4
    + (7,) * 2
    + (8,) * 2
)
REFERRER_WINDOW = 5_000
CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "KWD": 3, "BHD": 3}

CUSTOMER_FIELDS = (
    "id", "tenant_id", "code", "first_name", "last_name", "email", "phone", "phone_secondary",
    "date_of_birth", "gender", "preferred_language", "preferred_contact_method", "customer_type",
    "source", "acquisition_source", "referred_by_id", "referral_source", "instagram_handle",
    "facebook_url", "metadata", "is_archived", "archived_at", "created_at", "updated_at",
)  # fmt: skip
ADDRESS_FIELDS = (
    "uuid", "tenant_id", "customer_id", "label", "line1", "line2", "neighborhood", "city",
    "state", "postal_code", "country", "delivery_instructions", "is_default", "created_at",
    "updated_at",
)  # fmt: skip
CUSTOMER_TAG_FIELDS = ("tenant_id", "customer_id", "tag_id", "added_by", "added_at")
NOTE_FIELDS = (
    "uuid", "tenant_id", "customer_id", "content", "author", "is_pinned", "is_private",
    "created_at", "updated_at",
)  # fmt: skip
EVENT_FIELDS = (
    "uuid", "tenant_id", "customer_id", "event_type", "title", "description", "channel",
    "reference", "metadata", "actor", "created_at",
)  # fmt: skip
# The optional apps' tables (written only when the app is installed).
CONSENT_FIELDS = (
    "uuid", "tenant_id", "customer_id", "channel", "status", "legal_basis", "source",
    "ip_address", "user_agent", "consented_at", "revoked_at", "notice_version", "created_at",
    "updated_at",
)  # fmt: skip
CONSENT_CHANGE_FIELDS = (
    "uuid", "tenant_id", "customer_id", "channel", "previous_status", "new_status",
    "legal_basis", "source", "ip_address", "user_agent", "notice_version", "actor", "created_at",
)  # fmt: skip
IDENTIFIER_FIELDS = (
    "uuid", "tenant_id", "customer_id", "type", "value", "is_primary", "source", "created_at",
)  # fmt: skip
PREFERENCE_FIELDS = (
    "uuid", "tenant_id", "customer_id", "category", "key", "value", "preference_type",
    "confidence", "source", "created_at", "updated_at",
)  # fmt: skip
# Rows that point at a row of the same batch hold its position in the batch's list until the
# loader gives them primary keys: orders (for lines and refunds), pets (for owners) and the
# timeline entries of interactions. The first column of those lists is that key.
ORDER_FIELDS = (
    "id", "uuid", "tenant_id", "customer_id", "source", "external_id", "channel", "status",
    "placed_at", "completed_at", "cancelled_at", "total_q", "refunded_q", "currency", "metadata",
    "created_at", "updated_at",
)  # fmt: skip
ORDER_LINE_FIELDS = (
    "order_id", "position", "sku", "name", "category", "quantity", "unit_price_q", "total_q",
)  # fmt: skip
ORDER_REFUND_FIELDS = (
    "uuid", "order_id", "amount_q", "reason", "reference", "actor", "created_at",
)  # fmt: skip
VISIT_FIELDS = (
    "uuid", "tenant_id", "customer_id", "source", "external_id", "service", "status",
    "scheduled_at", "completed_at", "cancelled_at", "occurred_at", "staff", "pet_uuid",
    "pet_name", "price_q", "currency", "notes", "metadata", "created_at", "updated_at",
)  # fmt: skip
PET_FIELDS = (
    "id", "uuid", "tenant_id", "name", "name_key", "species", "breed", "sex", "date_of_birth",
    "neutered", "colour", "microchip", "notes", "deceased_on", "created_at", "updated_at",
)  # fmt: skip
PET_OWNER_FIELDS = ("tenant_id", "pet_id", "customer_id", "is_primary", "since", "created_at")
INTERACTION_FIELDS = (
    "uuid", "tenant_id", "customer_id", "interaction_type", "channel", "direction", "subject",
    "notes", "handled_by_name", "duration_minutes", "outcome", "follow_up_required",
    "follow_up_date", "follow_up_done_at", "occurred_at", "timeline_event_id", "created_at",
    "updated_at",
)  # fmt: skip
INTERACTION_EVENT_FIELDS = ("id", *EVENT_FIELDS)
# The kinds of touchpoint the core writes as bare timeline entries unless rows replace them:
# interactions always replace the contacts, and orders and visits replace theirs where
# commerce is installed.
TOUCHPOINTS = ("order", "visit")


# --- codes ---------------------------------------------------------------------------------

_HALF_BITS = CODE_LENGTH * 5 // 2  # 10 base-32 characters = 50 bits = two 25-bit halves
_HALF_MASK = (1 << _HALF_BITS) - 1
_MIX = 0x9E3779B97F4A7C15
_U64 = (1 << 64) - 1


def _round_keys(seed: int) -> tuple[int, ...]:
    digest = hashlib.blake2b(f"rapport-demo-codes:{seed}".encode(), digest_size=32).digest()
    return tuple(int.from_bytes(digest[i : i + 8], "big") for i in range(0, 32, 8))


def _permute(keys: tuple[int, ...], index: int) -> int:
    """A bijection on 50-bit integers (a Feistel network): distinct indexes, distinct codes."""
    left, right = index >> _HALF_BITS, index & _HALF_MASK
    for key in keys:
        mixed = ((right ^ key) * _MIX) & _U64
        mixed ^= mixed >> 29
        left, right = right, left ^ (mixed & _HALF_MASK)
    return (left << _HALF_BITS) | right


class CodeSequence:
    """Customer codes for a seed: the n-th code is always the same and never repeats."""

    def __init__(self, seed: int) -> None:
        self.keys = _round_keys(seed)

    def code(self, index: int) -> str:
        value = _permute(self.keys, index)
        chars = []
        for _ in range(CODE_LENGTH):
            chars.append(CODE_ALPHABET[value & 31])
            value >>= 5
        return "".join(chars)


def customer_code(seed: int, index: int) -> str:
    """The code the demo gives its `index`-th customer (from 0) on an empty tenant."""
    return CodeSequence(seed).code(index)


# --- rows ----------------------------------------------------------------------------------


@dataclass
class Batch:
    """The rows of one batch of customers, table by table."""

    customers: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    customer_tags: list[tuple] = field(default_factory=list)
    notes: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    consents: list[tuple] = field(default_factory=list)
    consent_changes: list[tuple] = field(default_factory=list)
    identifiers: list[tuple] = field(default_factory=list)
    preferences: list[tuple] = field(default_factory=list)
    interactions: list[tuple] = field(default_factory=list)
    interaction_events: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    order_lines: list[tuple] = field(default_factory=list)
    order_refunds: list[tuple] = field(default_factory=list)
    visits: list[tuple] = field(default_factory=list)
    pets: list[tuple] = field(default_factory=list)
    pet_owners: list[tuple] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    """What the optional apps' draws need to know of a customer just drawn."""

    id: int
    created: float  # POSIX seconds
    phone: str
    email: str
    instagram: str
    facebook: str
    contact_method: str
    source: str
    is_phone_only: bool
    customer_type: str = ""
    archived: float | None = None  # POSIX seconds; nothing new is bought after


class OptionalRows(Protocol):
    """The rows of one optional app for each customer, drawn from the app's own stream."""

    def draw(self, batch: Batch, customer: DemoCustomer) -> None: ...


@dataclass(frozen=True)
class TagChoice:
    tag_id: int
    name: str
    share: float
    customer_type: str


def _expand_names(locale: Locale) -> list[tuple]:
    """Name groups repeated by weight, so one `choice` picks a group in proportion."""
    groups = []
    for group in locale.name_groups:
        entry = (group, [ascii_slug(n) for n in group.last])
        groups.extend([entry] * group.weight)
    return groups


class DemoGenerator:
    """Draws customers one after another from a single random stream."""

    def __init__(
        self,
        *,
        seed: int,
        tenant_id: int,
        country: str,
        currency: str,
        locale: Locale,
        business: Business,
        tags: list[TagChoice],
        total: int,
        now: dt.datetime,
        first_index: int = 0,
        optional: Sequence[OptionalRows] = (),
        touchpoints: Sequence[str] = TOUCHPOINTS,
    ) -> None:
        # A tenant that already has demo customers gets new people, not the same ones again.
        self.random = random.Random(seed if first_index == 0 else f"{seed}:{first_index}")
        # UUIDs are unique across tenants, so their stream depends on the tenant too.
        self.uuid_bits = random.Random(f"uuids:{seed}:{tenant_id}:{first_index}").getrandbits
        self.codes = CodeSequence(seed)
        self.tenant_id = tenant_id
        self.locale = locale
        self.business = business
        self.tags = tags
        self.total = total
        self.index = first_index
        self.position = 0  # customers drawn so far in this run
        self.now = now.timestamp()
        self.start = self.now - HISTORY_DAYS * 86_400
        self.referrers: deque[int] = deque(maxlen=REFERRER_WINDOW)
        self.order_number = 10_000
        self.name_groups = _expand_names(locale)
        self.minor_per_major = 10 ** CURRENCY_EXPONENTS.get(currency.upper(), 2)
        self.typical_order = business.typical_order.get(currency.upper(), 50)
        self.currency = currency.upper()
        self.country = country.upper()
        self.phone_draw = _phone_drawer(locale)
        self.slugs: dict[str, str] = {}
        self.optional = tuple(optional)
        self.touchpoints = frozenset(touchpoints)

    def slug(self, name: str) -> str:
        slug = self.slugs.get(name)
        if slug is None:
            slug = self.slugs[name] = ascii_slug(name)
        return slug

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.uuid_bits(128), version=4)

    def _when(self, seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)

    def _created_at(self) -> float:
        """Customers join over two years, a little faster lately; never out of order."""
        fraction = (self.position + self.random.random()) / self.total
        return self.start + (self.now - self.start) * fraction**0.8

    def batch(self, ids: list[int], is_taken: Callable[[str], bool] | None = None) -> Batch:
        """The next len(ids) customers, with everything attached to them."""
        batch = Batch()
        for customer_id in ids:
            self._customer(batch, customer_id, is_taken)
        return batch

    def _code(self, is_taken: Callable[[str], bool] | None) -> str:
        code = self.codes.code(self.index)
        self.index += 1
        while is_taken is not None and is_taken(code):
            # Only when the tenant held customers before: step past codes already in use.
            code = self.codes.code((1 << 49) + self.random.getrandbits(48))
        return code

    def _customer(
        self, batch: Batch, customer_id: int, is_taken: Callable[[str], bool] | None
    ) -> None:
        rnd = self.random.random
        choice = self.random.choice
        locale, business = self.locale, self.business
        code = self._code(is_taken)
        created = self._created_at()
        self.position += 1

        group, last_slugs = choice(self.name_groups)
        place = choice(locale.places)
        phone_only = rnd() < PHONE_ONLY_SHARE
        gender_draw = rnd()
        if gender_draw < 0.49:
            gender, first_names = "female", group.female
        elif gender_draw < 0.96:
            gender, first_names = "male", group.male
        else:
            gender = "non_binary" if gender_draw < 0.975 else ""
            first_names = group.female if rnd() < 0.5 else group.male
        first_name = last_name = email = instagram = facebook = ""
        if phone_only:
            gender = ""
            phone = self.phone_draw(self.random, place)
        else:
            first_name = choice(first_names)
            last_index = self.random.randrange(len(group.last))
            last_name = group.last[last_index]
            last_slug = last_slugs[last_index]
            if locale.two_last_names and rnd() < 0.7:
                second = choice(group.last)
                last_name = f"{last_name} {second}"
                last_slug += self.slug(second)
            phone = self.phone_draw(self.random, place) if rnd() < PHONE_SHARE else ""
            first_slug = self.slug(first_name)
            if rnd() < EMAIL_SHARE or not phone:
                email = _email(self.random, first_slug, last_slug, choice(locale.email_domains))
            if rnd() < 0.12:
                instagram = _instagram(self.random, first_slug, last_slug)
                if rnd() < 0.25:
                    facebook = f"https://www.facebook.com/{instagram.replace('_', '.')}"
        phone_secondary = self.phone_draw(self.random, place) if rnd() < 0.06 else ""

        date_of_birth = None
        if not phone_only and rnd() < DATE_OF_BIRTH_SHARE:
            age_days = self.random.randrange(18 * 365, 78 * 365)
            date_of_birth = (self._when(self.now) - dt.timedelta(days=age_days)).date()
        language = ""
        if rnd() < 0.4:
            language = group.language or locale.language
        contact_method = choice(locale.contact_methods) if rnd() < 0.6 else ""
        if contact_method == "email" and not email:
            contact_method = "whatsapp" if locale.country != "US" else "sms"
        customer_type = choice(business.customer_types)
        source = choice(business.sources)
        acquisition = choice(locale.acquisition_sources) if rnd() < 0.7 else ""
        referred_by = None
        referral_source = ""
        if self.referrers and rnd() < REFERRED_SHARE:
            referred_by = choice(self.referrers)
            source = "referral"
            referral_source = choice(("Friend", "Friend", "Family", "Colleague", "Neighbour"))
        elif source == "referral":
            referral_source = choice(("Friend", "Family", "Colleague"))
        is_archived = rnd() < ARCHIVED_SHARE
        archived_at = archived = None
        updated = created + (self.now - created) * rnd() ** 3
        if is_archived:
            archived = created + (self.now - created) * (0.5 + rnd() / 2)
            archived_at = self._when(archived)
            updated = max(updated, archived)
        created_at = self._when(created)
        self.referrers.append(customer_id)

        tenant_id = self.tenant_id
        batch.customers.append(
            (
                customer_id, tenant_id, code, first_name, last_name, email, phone,
                phone_secondary, date_of_birth, gender, language, contact_method, customer_type,
                source, acquisition, referred_by, referral_source, instagram, facebook, {},
                is_archived, archived_at, created_at, self._when(updated),
            )
        )  # fmt: skip
        events = batch.events
        events.append(
            (
                self._uuid(), tenant_id, customer_id, "profile", "Customer created", "",
                "", "", {"kind": "created"}, ACTOR, created_at,
            )
        )  # fmt: skip

        if rnd() < (ADDRESS_SHARE if not phone_only else 0.1):
            self._address(batch, customer_id, place, created)
        self._tag(batch, customer_id, customer_type, created)
        if rnd() < NOTE_SHARE:
            self._notes(batch, customer_id, created)
        for _ in range(choice(TOUCHPOINT_COUNTS)):
            self._touchpoint(batch, customer_id, created, source)
        if self.optional:
            person = DemoCustomer(
                customer_id, created, phone, email, instagram, facebook, contact_method, source,
                phone_only, customer_type, archived,
            )  # fmt: skip
            for rows in self.optional:
                rows.draw(batch, person)

    def _address(self, batch: Batch, customer_id: int, place, created: float) -> None:
        rnd, choice = self.random.random, self.random.choice
        label = "home" if rnd() < 0.7 else choice(("work", "delivery"))
        number = self.random.randint(1, 250)
        street = choice(place.streets)
        line1 = (
            f"{street}, {number}" if self.locale.country in ("BR", "MX") else f"{number} {street}"
        )
        line2 = f"Flat {self.random.randint(1, 12)}" if rnd() < 0.2 else ""
        postal = "".join(
            str(self.random.randrange(10)) if c == "#" else c for c in self.locale.postal_code
        )
        instructions = ""
        if rnd() < 0.15:
            instructions = choice(
                (
                    "Call on arrival",
                    "Leave with the security man at the gate",
                    "Ring twice",
                    "Behind the filling station",
                    "Blue gate",
                )
            )
        at = self._when(created + (self.now - created) * rnd() * 0.1)
        batch.addresses.append(
            (
                self._uuid(), self.tenant_id, customer_id, label, line1, line2,
                choice(place.neighborhoods), place.city, place.state, postal,
                self.country, instructions, True, at, at,
            )
        )  # fmt: skip

    def _tag(self, batch: Batch, customer_id: int, customer_type: str, created: float) -> None:
        rnd = self.random.random
        names = []
        added = created + rnd() * 86_400 * 3
        added_at = None
        for tag in self.tags:
            if tag.customer_type == customer_type or (not tag.customer_type and rnd() < tag.share):
                added_at = added_at or self._when(min(added, self.now))
                batch.customer_tags.append(
                    (self.tenant_id, customer_id, tag.tag_id, ACTOR, added_at)
                )
                names.append(tag.name)
        if names:
            batch.events.append(
                (
                    self._uuid(), self.tenant_id, customer_id, "profile",
                    f"Tagged {', '.join(names)}"[:200], "", "", "",
                    {"kind": "tagged", "tags": names}, ACTOR, added_at,
                )
            )  # fmt: skip

    def _notes(self, batch: Batch, customer_id: int, created: float) -> None:
        rnd, choice = self.random.random, self.random.choice
        count = 1 if rnd() < 0.75 else (2 if rnd() < 0.8 else 3)
        for _ in range(count):
            note_uuid = self._uuid()
            content = choice(self.business.notes)
            is_pinned = rnd() < 0.2
            is_private = rnd() < 0.1
            at = self._when(created + (self.now - created) * rnd())
            batch.notes.append(
                (
                    note_uuid, self.tenant_id, customer_id, content, ACTOR, is_pinned,
                    is_private, at, at,
                )
            )  # fmt: skip
            batch.events.append(
                (
                    self._uuid(), self.tenant_id, customer_id, "note",
                    "Private note added" if is_private else "Note added",
                    "" if is_private else content, "", f"note:{note_uuid}",
                    {"kind": "note_added", "note": str(note_uuid), "is_private": is_private},
                    ACTOR, at,
                )
            )  # fmt: skip

    def _touchpoint(self, batch: Batch, customer_id: int, created: float, source: str) -> None:
        rnd, choice = self.random.random, self.random.choice
        business = self.business
        at = self._when(created + (self.now - created) * rnd())
        kind = rnd()
        if kind < 0.45:
            self.order_number += 1
            number = f"{business.order_prefix}-{self.order_number}"
            items = self.random.randint(1, 5)
            spread = 0.3 + 2.7 * rnd() ** 2
            step = max(1, 10 ** int(math.log10(self.typical_order)) // 100)
            total = max(step, round(self.typical_order * spread / step) * step)
            channel = "online" if source in ("online", "marketplace") and rnd() < 0.7 else "pos"
            event = (
                "order", f"Order {number}: {choice(business.order_items)}"
                + (f" and {items - 1} more" if items > 1 else ""),
                "", channel, f"order:{number}",
                {"total_q": total * self.minor_per_major, "currency": self.currency, "items": items},
            )  # fmt: skip
        elif kind < 0.75:
            event = ("visit", choice(business.visits), "", "in_person", "", {})
        else:
            channel, title = choice(business.contacts)
            event = (
                "contact",
                title,
                "",
                channel,
                "",
                {"direction": "outbound" if rnd() < 0.7 else "inbound"},
            )
        # Drawn either way, so that the stream (and every later customer) stays the same.
        event_uuid = self._uuid()
        if event[0] in self.touchpoints:
            batch.events.append((event_uuid, self.tenant_id, customer_id, *event, ACTOR, at))


def _email(rng: random.Random, first: str, last: str, domain: str) -> str:
    style = rng.random()
    if style < 0.4:
        local = f"{first}.{last}"
    elif style < 0.7:
        local = f"{first}{last}{rng.randint(1, 99)}"
    elif style < 0.85:
        local = f"{first[0]}{last}"
    else:
        local = f"{first}{rng.randint(1970, 2006)}"
    return f"{local}@{domain}"


def _instagram(rng: random.Random, first: str, last: str) -> str:
    style = rng.random()
    if style < 0.5:
        handle = f"{first}_{last}"
    elif style < 0.8:
        handle = f"{first}.{last[:3]}{rng.randint(1, 99)}"
    else:
        handle = f"the_{first}{rng.randint(1, 999)}"
    return handle[:30]


def _phone_drawer(locale: Locale):
    """A function (random, place) -> a valid E.164 mobile number for the locale's country."""
    cc = locale.country_code
    if locale.country == "NG":
        prefixes = locale.mobile_prefixes

        def nigeria(rng, place):
            return f"+{cc}{rng.choice(prefixes)}{rng.randrange(10**7):07d}"

        return nigeria
    if locale.country == "BR":

        def brazil(rng, place):
            return f"+{cc}{place.area_codes[0]}9{rng.randint(6, 9)}{rng.randrange(10**7):07d}"

        return brazil
    if locale.country == "MX":

        def mexico(rng, place):
            area = place.area_codes[0]
            digits = locale.national_digits - len(area)
            return f"+{cc}{area}{rng.randrange(10**digits):0{digits}d}"

        return mexico
    if locale.country == "US":

        def united_states(rng, place):
            exchange = rng.randint(200, 999)
            if exchange % 100 == 11:
                exchange += 1
            return f"+{cc}{place.area_codes[0]}{exchange}{rng.randrange(10**4):04d}"

        return united_states
    return _example_based(locale.country)


def _example_based(region: str):
    """For other countries: the region's example mobile number with fresh last digits."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        example = phonenumbers.example_number(region)
    national = str(example.national_number)
    keep = national[: max(len(national) - 4, 1)]
    fallback = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)

    def draw(rng, place):
        for _ in range(5):
            digits = len(national) - len(keep)
            candidate = f"+{example.country_code}{keep}{rng.randrange(10**digits):0{digits}d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                return candidate
        return fallback

    return draw
