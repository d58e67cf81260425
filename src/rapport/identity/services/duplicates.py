"""Duplicate customers: how alike two records are, and which pairs of a tenant look alike.

Two records are compared on what identifies a person: their phones, emails and handles (the
customer's own fields, its contact points and its identifiers), their names (with rapidfuzz)
and their addresses. Each shared fact is evidence with a weight; the weights combine as
independent evidence (1 - Π(1 - w)), and names that clearly differ halve the result, so a
phone shared by two people of one household does not pass for one person.

Finding duplicates never compares all pairs: customers are grouped by normalized keys (a
phone, an email, an identifier value, name keys, an address key) and only customers sharing a
key are compared. A key shared by more than BLOCK_LIMIT customers (a shop's own phone typed in
for every walk-in) is skipped and reported instead.
"""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from rapport.customers.models import ContactPoint, Customer, CustomerAddress
from rapport.customers.services import find_customer
from rapport.exceptions import InvalidInput, NotFound
from rapport.identity import conf
from rapport.identity.models import CustomerIdentifier
from rapport.tenancy.models import Tenant

# How much one shared fact says that two records are one person.
PHONE_WEIGHT = 0.7
EMAIL_WEIGHT = 0.75
HANDLE_WEIGHT = 0.7
ADDRESS_WEIGHT = 0.3
NAME_WEIGHT = 0.5  # for the same name; similar names weigh less, down to nothing at 75%
NAME_SIMILAR_FROM = 75.0  # percent: below this, names are not evidence
NAME_SAME_FROM = 97.0  # percent: from this, names count as the same
NAME_CONFLICT_BELOW = 60.0  # percent: two names this far apart halve the score
CONFLICT_FACTOR = 0.5

PHONE_TYPES = ("phone", "whatsapp")
HANDLE_CONTACT_TYPES = ("instagram", "facebook", "telegram")
NON_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class Match:
    """How alike two customers are: a score from 0 to 1 and the evidence in sentences."""

    score: float  # 0..1
    reasons: list[str]


@dataclass
class Profile:
    """What identifies one customer, in normal forms, gathered from all its records."""

    pk: int
    code: str
    name: str = ""  # as written, for reasons
    name_key: str = ""  # normalized, tokens sorted
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    handles: set[tuple[str, str]] = field(default_factory=set)  # (type, value)
    addresses: dict[str, str] = field(default_factory=dict)  # key -> as written

    def keys(self) -> Iterable[str]:
        """The blocking keys: customers sharing none of them are never compared."""
        yield from (f"phone {phone}" for phone in self.phones)
        yield from (f"email {email}" for email in self.emails)
        yield from (f"{type} {value}" for type, value in self.handles)
        yield from (f"address {key}" for key in self.addresses)
        yield from name_keys(self.name_key)


def fold(text: str) -> str:
    """Lower case, accents and punctuation dropped, spaces collapsed: 'Adéọlá  O.' -> 'adeola o'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(NON_WORD.sub(" ", plain.casefold()).replace("_", " ").split())


def name_key(first_name: str, last_name: str) -> str:
    """The name's comparison form: folded, its words sorted (so 'Obi Ada' is 'Ada Obi')."""
    return " ".join(sorted(fold(f"{first_name} {last_name}").split()))


def name_keys(key: str) -> list[str]:
    """Blocking keys for a name that survive one typo: word prefixes and word suffixes."""
    words = key.split()
    if not words:
        return []
    first, last = words[0], words[-1]
    if len(words) == 1:
        return [f"name {first}"]
    return [f"name^ {first[:3]} {last[:3]}", f"name$ {first[-3:]} {last[-3:]}"]


def address_key(line1: str, city: str) -> str:
    """An address's comparison form: its first line and city, folded."""
    line = fold(line1)
    return f"{line} | {fold(city)}" if line else ""


def handle_value(type: str, value: str) -> str:
    """A contact point's handle in comparable form (contact points may hold '@Name' or a URL)."""
    text = value.strip().rstrip("/")
    text = text.rsplit("/", 1)[-1] if "/" in text else text
    return text.lstrip("@").lower()


def _add_contact(profile: Profile, type: str, value: str) -> None:
    if not value:
        return
    if type in PHONE_TYPES:
        profile.phones.add(value)
    elif type == "email":
        profile.emails.add(value.lower())
    elif type in HANDLE_CONTACT_TYPES:
        profile.handles.add((type, handle_value(type, value)))


def _add_identifier(profile: Profile, type: str, value: str) -> None:
    if type in PHONE_TYPES or type == "email":
        _add_contact(profile, type, value)
    else:
        profile.handles.add((type, value))


def _add_address(profile: Profile, line1: str, city: str) -> None:
    key = address_key(line1, city)
    if key:
        profile.addresses[key] = ", ".join(part for part in (line1.strip(), city.strip()) if part)


def _base_profile(
    pk: int,
    code: str,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    phone_secondary: str,
    instagram_handle: str,
) -> Profile:
    profile = Profile(
        pk=pk,
        code=code,
        name=f"{first_name} {last_name}".strip(),
        name_key=name_key(first_name, last_name),
    )
    _add_contact(profile, "phone", phone)
    _add_contact(profile, "phone", phone_secondary)
    _add_contact(profile, "email", email)
    _add_contact(profile, "instagram", instagram_handle)
    return profile


CUSTOMER_COLUMNS = (
    "pk",
    "code",
    "first_name",
    "last_name",
    "email",
    "phone",
    "phone_secondary",
    "instagram_handle",
)


def profile_of(customer: Customer) -> Profile:
    """Everything that identifies one customer, read from its rows (three queries)."""
    profile = _base_profile(*(getattr(customer, column) for column in CUSTOMER_COLUMNS))
    for type, value in ContactPoint.objects.filter(customer=customer).values_list("type", "value"):
        _add_contact(profile, type, value)
    for type, value in CustomerIdentifier.objects.filter(customer=customer).values_list(
        "type", "value"
    ):
        _add_identifier(profile, type, value)
    for line1, city in CustomerAddress.objects.filter(customer=customer).values_list(
        "line1", "city"
    ):
        _add_address(profile, line1, city)
    return profile


def name_weight(similarity: float) -> float:
    """The evidence in two names `similarity` percent alike."""
    if similarity >= NAME_SAME_FROM:
        return NAME_WEIGHT
    if similarity < NAME_SIMILAR_FROM:
        return 0.0
    return NAME_WEIGHT * (similarity - NAME_SIMILAR_FROM) / (NAME_SAME_FROM - NAME_SIMILAR_FROM)


def compare(first: Profile, second: Profile) -> Match:
    """The score and reasons for two profiles; see the module's docstring for the rule."""
    weights: list[float] = []
    reasons: list[str] = []
    for phone in sorted(first.phones & second.phones):
        weights.append(PHONE_WEIGHT)
        reasons.append(f"Same phone {phone}")
    for email in sorted(first.emails & second.emails):
        weights.append(EMAIL_WEIGHT)
        reasons.append(f"Same email {email}")
    for type, value in sorted(first.handles & second.handles):
        weights.append(HANDLE_WEIGHT)
        reasons.append(f"Same {type} {value}")
    conflict = False
    if first.name_key and second.name_key:
        similarity = fuzz.token_sort_ratio(first.name_key, second.name_key)
        weight = name_weight(similarity)
        if similarity >= NAME_SAME_FROM:
            reasons.append(f"Same name: {first.name}")
        elif weight > 0:
            reasons.append(f"Similar names: {first.name} / {second.name} ({similarity:.0f}%)")
        elif similarity < NAME_CONFLICT_BELOW:
            conflict = True
        if weight > 0:
            weights.append(weight)
    for key in sorted(first.addresses.keys() & second.addresses.keys()):
        weights.append(ADDRESS_WEIGHT)
        reasons.append(f"Same address: {first.addresses[key]}")
    missing = 1.0
    for weight in weights:
        missing *= 1.0 - weight
    score = 1.0 - missing
    if conflict and score > 0:
        score *= CONFLICT_FACTOR
        reasons.append(
            f"Different names: {first.name} / {second.name} "
            f"({fuzz.token_sort_ratio(first.name_key, second.name_key):.0f}%)"
        )
    return Match(score=round(score, 4), reasons=reasons)


def score_pair(first: Customer, second: Customer) -> Match:
    """How likely two customers are one person: a score from 0 to 1 and the evidence."""
    if first.pk == second.pk:
        return Match(score=1.0, reasons=["Same customer"])
    return compare(profile_of(first), profile_of(second))


@dataclass(frozen=True)
class DuplicatePair:
    """Two customers that look like one person."""

    first: Customer
    second: Customer
    score: float
    reasons: list[str]


@dataclass(frozen=True)
class OversizedBlock:
    """A key shared by too many customers to compare them pair by pair."""

    key: str
    size: int


@dataclass(frozen=True)
class DuplicateReport:
    """The pairs found, best first, and the keys skipped because too many customers share them."""

    pairs: list[DuplicatePair]
    oversized: list[OversizedBlock]
    compared: int  # how many candidate pairs were scored


def _check_bounds(min_score: float, limit: int) -> None:
    errors = {}
    if not 0.0 <= min_score <= 1.0:
        errors["min_score"] = "Between 0 and 1"
    if not 1 <= limit <= conf.DUPLICATES_LIMIT:
        errors["limit"] = f"Between 1 and {conf.DUPLICATES_LIMIT}"
    if errors:
        raise InvalidInput("The duplicate search bounds are not valid", fields=errors)


def _profiles(tenant: Tenant, pks: Iterable[int] | None = None) -> dict[int, Profile]:
    """Profiles of the tenant's live customers (all of them, or those in `pks`): four queries."""
    customers = Customer.objects.filter(tenant=tenant, merged_into__isnull=True)
    related = {"tenant": tenant, "customer__merged_into__isnull": True}
    if pks is not None:
        pks = list(pks)
        customers = customers.filter(pk__in=pks)
        related["customer_id__in"] = pks
    profiles = {
        row[0]: _base_profile(*row) for row in customers.values_list(*CUSTOMER_COLUMNS).iterator()
    }
    rows = ContactPoint.objects.filter(**related).values_list("customer_id", "type", "value")
    for pk, type, value in rows.iterator():
        if pk in profiles:
            _add_contact(profiles[pk], type, value)
    rows = CustomerIdentifier.objects.filter(**related).values_list("customer_id", "type", "value")
    for pk, type, value in rows.iterator():
        if pk in profiles:
            _add_identifier(profiles[pk], type, value)
    rows = CustomerAddress.objects.filter(**related).values_list("customer_id", "line1", "city")
    for pk, line1, city in rows.iterator():
        if pk in profiles:
            _add_address(profiles[pk], line1, city)
    return profiles


def _candidate_pairs(
    profiles: dict[int, Profile], block_limit: int
) -> tuple[set[tuple[int, int]], list[OversizedBlock]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for pk, profile in profiles.items():
        for key in set(profile.keys()):
            blocks[key].append(pk)
    pairs: set[tuple[int, int]] = set()
    oversized = []
    for key, members in blocks.items():
        if len(members) < 2:
            continue
        if len(members) > block_limit:
            oversized.append(OversizedBlock(key=key, size=len(members)))
            continue
        members.sort()
        for index, first in enumerate(members):
            for second in members[index + 1 :]:
                pairs.add((first, second))
    oversized.sort(key=lambda block: (-block.size, block.key))
    return pairs, oversized


def _report(
    profiles: dict[int, Profile],
    pairs: Iterable[tuple[int, int]],
    min_score: float,
    limit: int,
    oversized: list[OversizedBlock],
) -> DuplicateReport:
    found = []
    compared = 0
    for first, second in pairs:
        compared += 1
        match = compare(profiles[first], profiles[second])
        if match.score >= min_score and match.score > 0:
            found.append((match, first, second))
    found.sort(key=lambda item: (-item[0].score, profiles[item[1]].code, profiles[item[2]].code))
    found = found[:limit]
    customers = Customer.objects.in_bulk(
        {pk for _, first, second in found for pk in (first, second)}
    )
    return DuplicateReport(
        pairs=[
            DuplicatePair(
                first=customers[first],
                second=customers[second],
                score=match.score,
                reasons=match.reasons,
            )
            for match, first, second in found
        ],
        oversized=oversized,
        compared=compared,
    )


class DuplicateService:
    """Customers of a tenant that look like one person, found by blocking, never all pairs."""

    @staticmethod
    def find_duplicates(
        *,
        tenant: Tenant,
        min_score: float | None = None,
        limit: int = 100,
        block_limit: int | None = None,
    ) -> DuplicateReport:
        """The tenant's likely duplicate pairs, best first, and the blocks too big to compare."""
        min_score = conf.DEFAULT_MIN_SCORE if min_score is None else min_score
        _check_bounds(min_score, limit)
        profiles = _profiles(tenant)
        pairs, oversized = _candidate_pairs(profiles, block_limit or conf.BLOCK_LIMIT)
        return _report(profiles, pairs, min_score, limit, oversized)

    @staticmethod
    def duplicates_of(
        *,
        tenant: Tenant,
        code: str,
        min_score: float | None = None,
        limit: int = 100,
    ) -> DuplicateReport:
        """The customers that look like this one, best first; NotFound for an unknown code."""
        min_score = conf.DEFAULT_MIN_SCORE if min_score is None else min_score
        _check_bounds(min_score, limit)
        customer = find_customer(tenant, code)
        if customer is None:
            raise NotFound(f"No customer with code {code!r}")
        target = _profiles(tenant, [customer.pk])[customer.pk]
        # Only customers sharing a key can match; a key shared too widely is reported, as above.
        candidates = _customers_sharing(tenant, target) - {customer.pk}
        profiles = _profiles(tenant, candidates)
        blocks: dict[str, list[int]] = defaultdict(list)
        for pk, profile in profiles.items():
            for key in set(profile.keys()) & set(target.keys()):
                blocks[key].append(pk)
        profiles[customer.pk] = target
        sharing, oversized = set(), []
        for key, members in sorted(blocks.items()):
            if len(members) + 1 > conf.BLOCK_LIMIT:
                oversized.append(OversizedBlock(key=key, size=len(members) + 1))
                continue
            sharing.update((min(customer.pk, pk), max(customer.pk, pk)) for pk in members)
        return _report(profiles, sharing, min_score, limit, oversized)


def _customers_sharing(tenant: Tenant, target: Profile) -> set[int]:
    """Live customers of the tenant that may share a blocking key with `target`."""
    live = {"tenant": tenant, "customer__merged_into__isnull": True}
    found: set[int] = set()
    phones, emails = list(target.phones), list(target.emails)
    customers = Customer.objects.filter(tenant=tenant, merged_into__isnull=True)
    if phones:
        found.update(customers.filter(phone__in=phones).values_list("pk", flat=True))
        found.update(customers.filter(phone_secondary__in=phones).values_list("pk", flat=True))
    if emails:
        found.update(customers.filter(email__in=emails).values_list("pk", flat=True))
    values = phones + emails + [value for _, value in target.handles]
    if values:
        found.update(
            ContactPoint.objects.filter(**live, value__in=values).values_list(
                "customer_id", flat=True
            )
        )
        found.update(
            CustomerIdentifier.objects.filter(**live, value__in=values).values_list(
                "customer_id", flat=True
            )
        )
    instagram = [value for type, value in target.handles if type == "instagram"]
    if instagram:
        found.update(customers.filter(instagram_handle__in=instagram).values_list("pk", flat=True))
    # Name and address keys are computed, not stored: read the two narrow columns and compare.
    wanted = set(name_keys(target.name_key))
    if wanted:
        rows = customers.values_list("pk", "first_name", "last_name").iterator()
        found.update(
            pk for pk, first, last in rows if wanted.intersection(name_keys(name_key(first, last)))
        )
    if target.addresses:
        rows = CustomerAddress.objects.filter(**live).values_list("customer_id", "line1", "city")
        found.update(
            pk
            for pk, line1, city in rows.iterator()
            if address_key(line1, city) in target.addresses
        )
    return found
