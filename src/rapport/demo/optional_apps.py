"""Demo rows of the optional apps: consent with its history, identifiers, preferences, and
(from their own modules) orders and visits, pets, and the interactions staff logged.

Each app reads a random stream of its own, seeded from the demo's seed, so its rows are the
same for the same seed whether or not the other apps are installed, and the core's rows do not
move when an app is added. The rows are those the apps' services would have written, with the
timeline entry each service logs; no outbox events, as for the rest of the demo.
"""

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from rapport.commerce.money import EXPONENTS
from rapport.customers.normalization import normalize_handle
from rapport.demo.businesses import Business, PreferenceSpec
from rapport.demo.catalogue import ACTIVITIES
from rapport.demo.commerce import CommerceRows
from rapport.demo.generator import ACTOR, Batch, DemoCustomer, OptionalRows
from rapport.demo.interactions import InteractionRows
from rapport.demo.locales import Locale
from rapport.demo.pets import Household, PetRows
from rapport.demo.rows import AppRows
from rapport.demo.workplace import OpeningHours, staff_roster

# As rapport.<name> in INSTALLED_APPS.
OPTIONAL_APPS = ("consent", "identity", "preferences", "commerce", "pets")

# --- consent -------------------------------------------------------------------------------

OPTED_IN, OPTED_OUT, PENDING = "opted_in", "opted_out", "pending"
CONSENT = "consent"  # the legal basis of every demo opt-in
EMAIL_OPT_IN_SHARE = 0.5  # of customers with an email address
WHATSAPP_OPT_IN_SHARE = 0.35  # of customers with a phone, where WhatsApp is how people talk
WHATSAPP_OPT_IN_SHARE_IF_PREFERRED = 0.7  # ... and who prefer to be contacted on it
SMS_OPT_IN_SHARE = 0.12  # of customers with a phone; more where SMS is the habit
SMS_OPT_IN_SHARE_WITHOUT_WHATSAPP = 0.45
DECLINED_SHARE = 0.03  # said no outright: pending straight to opted out
REVOKED_SHARE = 0.12  # of opt-ins, opted out later
REGRANTED_SHARE = 0.15  # of those, opted in again later still
DOUBLE_OPT_IN_SHARE = 0.3  # of email opt-ins on the website, confirmed through the mailed link
# Where the customer gave their consent, by how they first came to the business.
GRANT_SOURCES = {
    "pos": ("pos", "pos", "signup_form"),
    "walk_in": ("signup_form", "signup_form", "pos"),
    "online": ("website", "website", "checkout"),
    "marketplace": ("website", "checkout"),
    "referral": ("signup_form", "website"),
}
ONLINE_SOURCES = frozenset({"website", "checkout", "double_opt_in"})
REVOKE_SOURCES = {
    "email": ("unsubscribe_link", "unsubscribe_link", "one_click_unsubscribe", "pos"),
    "whatsapp": ("whatsapp_reply", "whatsapp_reply", "pos"),
    "sms": ("sms_reply", "sms_reply", "pos"),
}
# Addresses reserved for documentation (RFC 5737): proof that looks real and is nobody's.
IP_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
HOSTS = tuple(range(1, 255))
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; TECNO KI5k) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
)
# As rapport.consent.services.title_of names each channel.
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "email": "email", "sms": "SMS", "push": "push"}

# --- identity ------------------------------------------------------------------------------

# Identifiers rapport creates when a customer writes in on a network (find_or_create_customer
# or add_identifier). A customer's own phone and email need no row: lookups fall back to them.
WHATSAPP_IDENTIFIER_SHARE = 0.1  # of customers with a phone, where people use WhatsApp
WHATSAPP_IDENTIFIER_SHARE_IF_FIRST = 0.6  # ... who came in on it or prefer it
INSTAGRAM_IDENTIFIER_SHARE = 0.7  # of customers with a handle
FACEBOOK_IDENTIFIER_SHARE = 0.5  # of customers with a profile URL
IDENTIFIER_TYPES = ("whatsapp", "instagram", "facebook")

# --- preferences ---------------------------------------------------------------------------

PREFERENCE_SHARE = 0.25  # customers who told (or showed) the business at least one preference
CERTAIN = Decimal("1.00")
# How sure an inferred preference is: 0.55 to 0.95.
CONFIDENCES = tuple(Decimal(n) / 100 for n in range(55, 96))
# As rapport.preferences.services words each type in a timeline title.
TYPE_WORDS = {
    "explicit": "Preference",
    "inferred": "Inferred preference",
    "restriction": "Restriction",
}


class ConsentRows(AppRows):
    """Opt-ins per channel with their proof, some revoked and some given again, and for each
    change the `ConsentChange` row and the timeline entry ConsentService writes."""

    app = "consent"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.has_whatsapp = "whatsapp" in self.locale.contact_methods

    def draw(self, batch: Batch, customer: DemoCustomer) -> None:
        if customer.email:
            self._channel(batch, customer, "email", EMAIL_OPT_IN_SHARE)
        if customer.phone:
            if self.has_whatsapp:
                preferred = customer.contact_method == "whatsapp" or customer.is_phone_only
                share = WHATSAPP_OPT_IN_SHARE_IF_PREFERRED if preferred else WHATSAPP_OPT_IN_SHARE
                self._channel(batch, customer, "whatsapp", share)
            sms = SMS_OPT_IN_SHARE if self.has_whatsapp else SMS_OPT_IN_SHARE_WITHOUT_WHATSAPP
            if customer.contact_method == "sms":
                sms = min(1.0, sms * 2)
            self._channel(batch, customer, "sms", sms)

    def _channel(self, batch: Batch, customer: DemoCustomer, channel: str, share: float) -> None:
        rnd, choice = self.random.random, self._pick
        draw = rnd()
        if draw >= share + DECLINED_SHARE:
            return  # never asked, or never answered: pending, and no row
        changes: list[tuple[str, str, float, tuple]] = []  # (previous, new, at, proof)
        if draw >= share:
            # Said no when asked: a revocation of nothing, with no basis to keep.
            at = self._later(customer.created, 600)
            source = choice(GRANT_SOURCES.get(customer.source, ("signup_form",)))
            changes.append((PENDING, OPTED_OUT, at, self._proof("", source, at, version=False)))
        else:
            at = self._granted_at(customer)
            changes.append((PENDING, OPTED_IN, at, self._grant_proof(customer, channel, at)))
            if rnd() < REVOKED_SHARE:
                at = self._later(at, (self.now - at) * rnd())
                source = choice(REVOKE_SOURCES[channel])
                changes.append((OPTED_IN, OPTED_OUT, at, self._proof(CONSENT, source, at, False)))
                if rnd() < REGRANTED_SHARE:
                    at = self._later(at, (self.now - at) * rnd())
                    proof = self._grant_proof(customer, channel, at)
                    changes.append((OPTED_OUT, OPTED_IN, at, proof))
        self._write(batch, customer.id, channel, changes)

    def _granted_at(self, customer: DemoCustomer) -> float:
        created = customer.created
        if self.random.random() < 0.7:
            return self._later(created, 600)  # asked on the day they joined
        return self._later(created, (self.now - created) * self.random.random() * 0.5)

    def _grant_proof(self, customer: DemoCustomer, channel: str, at: float) -> tuple:
        choice = self._pick
        if channel == "whatsapp" and self.random.random() < 0.4:
            source = "whatsapp_reply"
        else:
            source = choice(GRANT_SOURCES.get(customer.source, ("signup_form",)))
            confirmed = channel == "email" and source == "website"
            if confirmed and self.random.random() < DOUBLE_OPT_IN_SHARE:
                source = "double_opt_in"
        return self._proof(CONSENT, source, at, version=True)

    def _proof(self, legal_basis: str, source: str, at: float, version: bool) -> tuple:
        """(legal_basis, source, ip_address, user_agent, notice_version) as ConsentChange holds
        them; an IP and browser only where the customer clicked something."""
        ip_address, user_agent = None, ""
        if source in ONLINE_SOURCES or source in ("unsubscribe_link", "one_click_unsubscribe"):
            ip_address = f"{self._pick(IP_PREFIXES)}{self._pick(HOSTS)}"
            user_agent = self._pick(USER_AGENTS)
        notice_version = notice_version_at(self._when(at)) if version else ""
        return (legal_basis, source, ip_address, user_agent, notice_version)

    def _write(self, batch: Batch, customer_id: int, channel: str, changes: list) -> None:
        tenant_id = self.tenant_id
        consented_at = revoked_at = first = when = None
        for previous, new, at, proof in changes:
            when = self._when(at)
            first = first or when
            if new == OPTED_IN:
                consented_at = when
            else:
                revoked_at = when
            batch.consent_changes.append(
                (self._uuid(), tenant_id, customer_id, channel, previous, new, *proof, ACTOR, when)
            )
            batch.events.append(
                (
                    self._uuid(), tenant_id, customer_id, "contact", title_of(channel, new), "",
                    "", "",
                    {
                        "kind": "consent_changed", "channel": channel, "status": new,
                        "previous_status": previous, "legal_basis": proof[0], "source": proof[1],
                    },
                    ACTOR, when,
                )
            )  # fmt: skip
        # The row holds the last change's status and proof, as ConsentService leaves it.
        status, proof = changes[-1][1], changes[-1][3]
        legal_basis, source, ip_address, user_agent, notice_version = proof
        batch.consents.append(
            (
                self._uuid(), tenant_id, customer_id, channel, status, legal_basis, source,
                ip_address, user_agent, consented_at, revoked_at, notice_version, first, when,
            )
        )  # fmt: skip


def notice_version_at(when: dt.datetime) -> str:
    """The privacy notice in force on a day: a new one each January and July ("2025-07")."""
    return f"{when.year}-{'01' if when.month < 7 else '07'}"


def title_of(channel: str, status: str) -> str:
    """The timeline title ConsentService gives a change to `status` on `channel`."""
    name = CHANNEL_NAMES.get(channel, channel)
    if status == OPTED_IN:
        return f"Opted in to {name} marketing"
    if status == OPTED_OUT:
        return f"Opted out of {name} marketing"
    return f"Consent to {name} marketing back to pending"


class IdentifierRows(AppRows):
    """WhatsApp numbers and social handles customers wrote in from, normalized as
    IdentifierService stores them, one primary per type; a value already taken is skipped."""

    app = "identity"

    def __init__(self, *, in_use: set[tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.has_whatsapp = "whatsapp" in self.locale.contact_methods
        self.in_use = set(in_use or ())

    def draw(self, batch: Batch, customer: DemoCustomer) -> None:
        rnd = self.random.random
        created, span = customer.created, self.now - customer.created
        if customer.phone and self.has_whatsapp:
            first = customer.is_phone_only or customer.contact_method == "whatsapp"
            if rnd() < (WHATSAPP_IDENTIFIER_SHARE_IF_FIRST if first else WHATSAPP_IDENTIFIER_SHARE):
                # Phone-only customers were found or created by the number they wrote in from.
                at = created if customer.is_phone_only else self._later(created, span * rnd())
                self._add(batch, customer.id, "whatsapp", customer.phone, at)
        if customer.instagram and rnd() < INSTAGRAM_IDENTIFIER_SHARE:
            at = self._later(created, span * rnd() * 0.5)
            self._add(batch, customer.id, "instagram", customer.instagram, at)
        if customer.facebook and rnd() < FACEBOOK_IDENTIFIER_SHARE:
            at = self._later(created, span * rnd() * 0.5)
            self._add(batch, customer.id, "facebook", customer.facebook, at)

    def _add(self, batch: Batch, customer_id: int, type: str, raw: str, at: float) -> None:
        try:
            # Demo phones are E.164 already; handles and profile URLs are brought to one form.
            value = raw if type == "whatsapp" else normalize_handle(raw, type)
        except ValueError:
            return
        if (type, value) in self.in_use:
            return  # it finds another customer already
        self.in_use.add((type, value))
        identifier_uuid, when = self._uuid(), self._when(at)
        batch.identifiers.append(
            (identifier_uuid, self.tenant_id, customer_id, type, value, True, type, when)
        )
        batch.events.append(
            (
                self._uuid(), self.tenant_id, customer_id, "profile",
                f"Identifier added: {type} {value}"[:200], "", "", "",
                {
                    "kind": "identifier_added", "identifier": identifier_uuid,
                    "type": type, "value": value, "is_primary": True, "source": type,
                },
                ACTOR, when,
            )
        )  # fmt: skip


class PreferenceRows(AppRows):
    """A few preferences for some customers, of the kinds the business hears about."""

    app = "preferences"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.specs: tuple[PreferenceSpec, ...] = self.business.preferences

    def draw(self, batch: Batch, customer: DemoCustomer) -> None:
        rnd, choice = self.random.random, self._pick
        if not self.specs or rnd() >= PREFERENCE_SHARE:
            return
        chosen = [spec for spec in self.specs if rnd() < spec.share]
        if not chosen:
            chosen = [choice(self.specs)]
        created, span = customer.created, self.now - customer.created
        tenant_id = self.tenant_id
        for spec in chosen:
            kind = spec.preference_type
            confidence = choice(CONFIDENCES) if kind == "inferred" else CERTAIN
            at = self._when(self._later(created, span * rnd()))
            batch.preferences.append(
                (
                    self._uuid(), tenant_id, customer.id, spec.category, spec.key,
                    choice(spec.values), kind, confidence, choice(spec.sources), at, at,
                )
            )  # fmt: skip
            batch.events.append(
                (
                    self._uuid(), tenant_id, customer.id, "profile",
                    f"{TYPE_WORDS[kind]} set: {spec.category}/{spec.key}", "", "", "",
                    {
                        "kind": "preference_set", "category": spec.category, "key": spec.key,
                        "preference_type": kind,
                    },
                    ACTOR, at,
                )
            )  # fmt: skip


def optional_rows(
    apps: Collection[str],
    *,
    seed: int,
    tenant_id: int,
    locale: Locale,
    business: Business,
    now: dt.datetime,
    first_index: int = 0,
    identifiers_in_use: set[tuple[str, str]] | None = None,
    currency: str = "NGN",
    timezone: str = "Africa/Lagos",
    numbers_in_use: dict[str, int] | None = None,
    microchips_in_use: set[str] | None = None,
) -> list[OptionalRows]:
    """The row makers of the named apps (of OPTIONAL_APPS), always in the same order, and the
    interactions' (the timeline is part of the core, so those are always written).

    `numbers_in_use`: how many orders (and visits, as "booking") the tenant holds per source,
    so that new external ids follow them. `microchips_in_use`: the tenant's pets' microchips.
    """
    common = {
        "seed": seed,
        "tenant_id": tenant_id,
        "locale": locale,
        "business": business,
        "now": now,
        "first_index": first_index,
    }
    makers: list[OptionalRows] = []
    if "consent" in apps:
        makers.append(ConsentRows(**common))
    if "identity" in apps:
        makers.append(IdentifierRows(in_use=identifiers_in_use, **common))
    if "preferences" in apps:
        makers.append(PreferenceRows(**common))
    activity = ACTIVITIES[business.key]
    hours = OpeningHours(activity.habits, timezone)
    roster = staff_roster(locale, activity, seed)
    household = None
    if activity.has_pets and ("pets" in apps or "commerce" in apps):
        # Drawn whenever one of them is installed: commerce's visits name the pets.
        household = Household(hours=hours, chips_in_use=microchips_in_use, **common)
        if "pets" in apps:
            makers.append(PetRows(household=household, **common))
    if "commerce" in apps:
        currency = currency.upper()
        makers.append(
            CommerceRows(
                currency=currency,
                minor_per_major=10 ** EXPONENTS.get(currency, 2),
                typical_order=business.typical_order.get(currency, 50),
                hours=hours,
                roster=roster,
                household=household,
                with_pets="pets" in apps,
                numbers=numbers_in_use,
                **common,
            )
        )
    makers.append(InteractionRows(hours=hours, roster=roster, **common))
    return makers
