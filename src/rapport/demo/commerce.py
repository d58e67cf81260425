"""Demo orders and visits: purchase histories that look like real customers'.

Each customer buys on a rhythm of their own: many once and never again, some regulars on a
period (weekly coffee, a monthly shop, a check-up every few months), the rest at irregular
gaps; after each purchase an occasional customer may stop for good, so some have churned months
ago. Orders fall in the opening hours in the tenant's timezone, busier on some days and hours;
a few are cancelled or refunded (in part or in full), and recent online orders may still be
pending. Clinics give visits (booked, walk-in, cancelled, missed, a few booked ahead) and an
invoice for each visit given; with pets, each visit names the pet seen.

The rows are those OrderService.record_order, OrderService.refund and VisitService.record_visit
write, with the timeline entry each logs; the demo writes no outbox events.
"""

import datetime as dt
import math

from rapport.commerce.money import EXPONENTS
from rapport.demo.catalogue import ACTIVITIES, MARKETPLACES, Product, Service
from rapport.demo.generator import ACTOR, Batch, DemoCustomer
from rapport.demo.pets import DemoPet, Household
from rapport.demo.rows import AppRows
from rapport.demo.workplace import DAY, OpeningHours

TITLE_LIMIT = 200
NEVER_BOUGHT_SHARE = 0.05  # signed up and never bought anything
PENDING_WITHIN = 2 * DAY  # an online order this recent may still await payment
PENDING_SHARE = 0.3
VISIT_CANCELLED_SHARE = 0.06
VISIT_NO_SHOW_SHARE = 0.05
BOOKED_AHEAD_SHARE = 0.4  # of active clinic customers: their next visit is in the diary
PRODUCT_ORDER_SHARE = 0.25  # of visits given: food or medication bought some days later
VISIT_NOTES = (
    "Weight checked; diet unchanged.",
    "Next vaccine due in twelve months.",
    "Owner to send a photo of the wound in three days.",
    "Recheck in two weeks.",
    "Nails trimmed as well.",
)
# As rapport.commerce.services.changes words a new order and a new visit.
ORDER_VERBS = {"pending": "placed", "completed": "completed", "cancelled": "cancelled"}
VISIT_TITLES = {
    "scheduled": "Visit booked: {service}",
    "completed": "Visit: {service}",
    "cancelled": "Visit cancelled: {service}",
    "no_show": "Missed visit: {service}",
}
# The order's source and how its external id reads, by channel.
SOURCES = {"pos": "pos", "online": "website", "phone": "phone"}
ONE, REGULAR, OCCASIONAL = "one", "regular", "occasional"


def _weighted(pairs) -> tuple:
    return tuple(value for value, weight in pairs for _ in range(weight))


def _nice(amount: float, minor_per_major: int) -> int:
    """A price as a shop writes it, in minor units: 27,000 / 1,950 / 4.05."""
    if amount <= 0:
        return minor_per_major
    step = 10 ** (math.floor(math.log10(amount)) - 1) / 2
    minor = round(round(amount / step) * step * minor_per_major)
    return max(1, minor)


UTC = dt.UTC
fromtimestamp = dt.datetime.fromtimestamp


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class CommerceRows(AppRows):
    """Orders with their lines and refunds, and visits, per customer."""

    app = "commerce"

    def __init__(
        self,
        *,
        currency: str,
        minor_per_major: int,
        typical_order: int,
        hours: OpeningHours,
        roster: dict[str, tuple[str, ...]],
        household: Household | None = None,
        with_pets: bool = False,
        numbers: dict[str, int] | None = None,
        **common,
    ) -> None:
        super().__init__(**common)
        self.activity = ACTIVITIES[self.business.key]
        self.habits = self.activity.habits
        self.currency = currency
        self.places = EXPONENTS.get(currency, 2)
        self.hours = hours
        self.roster = roster
        self.household = household if self.activity.has_pets else None
        self.with_pets = with_pets and self.household is not None
        self.marketplace = MARKETPLACES.get((self.business.key, self.locale.country), "marketplace")
        self.numbers = dict(numbers or {})
        prices = {}
        for product in self.activity.products:
            prices[product.sku] = _nice(typical_order * product.price, minor_per_major)
        for service in self.activity.services:
            prices[service.sku] = _nice(typical_order * service.price, minor_per_major)
        self.prices = prices
        self.products = _weighted((p, p.weight) for p in self.activity.products)
        self.services = _weighted((s, s.weight) for s in self.activity.services)
        self.booked_services = tuple(s for s in self.services if not s.walk_in)
        self.channels = {
            "online": _weighted(self.activity.online_channels),
            "marketplace": _weighted(self.activity.marketplace_channels),
            "": _weighted(self.activity.other_channels),
        }

    def amount(self, amount_q: int) -> str:
        """As rapport.commerce.money.format_amount writes it ("45.00 NGN"), without Decimal."""
        places = self.places
        if places == 0:
            return f"{amount_q:,} {self.currency}"
        unit = 10**places
        return f"{amount_q // unit:,}.{amount_q % unit:0{places}d} {self.currency}"

    def external_id(self, source: str) -> str:
        """The next id the sending system gives: sequential per source, never repeated."""
        number = self.numbers.get(source, 0) + 1
        self.numbers[source] = number
        if source == "pos":
            return f"{self.business.order_prefix}-{100_000 + number}"
        if source == "website":
            return f"WEB-{200_000 + number}"
        if source == "booking":
            return f"APT-{100_000 + number}"
        return str(3_000_000_000 + number * 7)  # a marketplace's own long order numbers

    # --- the customer's rhythm ------------------------------------------------------------

    def draw(self, batch: Batch, customer: DemoCustomer) -> None:
        rnd = self.random.random
        habits = self.habits
        pets = self.household.pets_of(customer) if self.household is not None else []
        kind_draw, spend, hour_draw, churn_draw = rnd(), rnd(), rnd(), rnd()
        if customer.customer_type == "vip" and kind_draw > habits.one_time_share:
            kind = REGULAR
        elif kind_draw < NEVER_BOUGHT_SHARE:
            kind = ""
        elif kind_draw < habits.one_time_share:
            kind = ONE
        elif kind_draw < habits.one_time_share + habits.regular_share:
            kind = REGULAR
        else:
            kind = OCCASIONAL
        if kind == REGULAR:
            gap = self._pick(habits.regular_periods) * (0.8 + 0.4 * rnd())
            dropout = habits.regular_dropout * (0.5 + churn_draw)
        else:
            gap = habits.occasional_gap * math.exp(self.random.gauss(0.0, 0.7))
            dropout = habits.dropout * (0.5 + churn_draw)
        # A habit of hour for regulars; the others come when it suits them.
        preferred = None
        if kind == REGULAR:
            bag = self.hours.bags[0] or (12,)
            preferred = bag[int(hour_draw * len(bag))]
        multiplier = math.exp((spend - 0.5) * 0.9)
        if customer.customer_type in ("vip", "wholesale", "corporate", "breeder"):
            multiplier *= 2.0
        favourites = (
            self._pick(self.products),
            self._pick(self.products),
            self._pick(self.products),
        )
        channels = self.channels.get(customer.source, self.channels[""])
        end = self.now if customer.archived is None else customer.archived
        moments = self._moments(customer.created, end, kind, gap, dropout, preferred)
        if self.activity.services:
            self._visits(batch, customer, moments, pets, favourites, multiplier, end)
            return
        for at, _alive in moments:
            channel = self._pick(channels)
            lines = self._lines(favourites, multiplier, customer.customer_type)
            self._order(batch, customer.id, at, channel, lines)

    def _moments(
        self,
        created: float,
        end: float,
        kind: str,
        gap: float,
        dropout: float,
        hour: int | None,
    ) -> list[tuple[float, bool]]:
        """When the customer buys (or visits), with whether they are still a customer after."""
        if not kind:
            return []
        rnd = self.random.random
        slot = self.hours.slot
        # The first purchase: on joining when the business is open, else at the next opening.
        first = created + 300 + int(rnd() * 900)
        if not (rnd() < 0.85 and self.hours.is_open(first)):
            first = slot(rnd, first, hour)
        if first > end:
            return []
        moments = [first]
        alive = kind != ONE
        while alive:
            if rnd() < dropout:
                alive = False
                break
            if kind == REGULAR:
                days = gap * (1 + 0.15 * self.random.gauss(0.0, 1.0))
            else:
                days = self.random.expovariate(1 / gap)
            target = moments[-1] + max(0.5, days) * DAY
            if target > end:
                break
            # On the day the gap ends, at the customer's hour if they have one.
            day_start = self.hours.midnight(self.hours.day_of(target))
            nxt = slot(rnd, max(moments[-1], day_start), hour)
            if nxt > end:
                break
            moments.append(nxt)
        return [(moment, alive) for moment in moments]

    # --- orders ------------------------------------------------------------------------------

    def _lines(
        self, favourites: tuple[Product, ...], multiplier: float, customer_type: str, count=None
    ) -> list[tuple[Product, int]]:
        rnd, pick = self.random.random, self._pick
        habits = self.habits
        if count is None:
            count = pick(habits.line_counts)
            if multiplier > 1.6 and rnd() < 0.5:
                count += 1
        lines: list[tuple[Product, int]] = []
        seen = set()
        for _ in range(count):
            product = pick(favourites) if rnd() < 0.55 else pick(self.products)
            if product.sku in seen:
                continue
            seen.add(product.sku)
            quantity = pick(habits.quantities)
            if customer_type in ("wholesale", "reseller", "corporate") and rnd() < 0.6:
                quantity *= 2 + int(rnd() * 10)
            lines.append((product, quantity))
        return lines

    def _order(
        self,
        batch: Batch,
        customer_id: int,
        placed: float,
        channel: str,
        lines: list[tuple[object, int]],
        metadata: dict | None = None,
    ) -> None:
        """One order as record_order stores it, then maybe refunded through OrderService.refund."""
        rnd = self.random.random
        now = self.now
        habits = self.habits
        source = SOURCES.get(channel, self.marketplace)
        external_id = self.external_id(source)
        placed = int(placed)
        total = 0
        position = len(batch.orders)
        for number, (item, quantity) in enumerate(lines):
            price = self.prices[item.sku]
            category = item.category if isinstance(item, Product) else "services"
            total += price * quantity
            batch.order_lines.append(
                (
                    position, number, item.sku, item.name, category, quantity, price,
                    price * quantity,
                )
            )  # fmt: skip
        is_online = channel != "pos"
        completed_at = None
        draw = rnd()
        if is_online and placed > now - PENDING_WITHIN and draw < PENDING_SHARE:
            status = "pending"
            recorded = min(now, placed + 5 + int(rnd() * 55))
        elif draw < habits.cancelled_share * (3 if is_online else 1):
            status = "cancelled"
            recorded = min(now, placed + 300 + int(rnd() * DAY))
        else:
            status = "completed"
            # Paid at the till at once; online a little later, and the shop says when.
            completed_at = min(now, placed + 60 + int(rnd() * 7200)) if is_online else placed
            recorded = min(now, completed_at + 5 + int(rnd() * 115))
        order_uuid = self._uuid()
        placed_at = fromtimestamp(placed, UTC)
        recorded_at = fromtimestamp(recorded, UTC)
        placed_iso = placed_at.isoformat()
        completed = cancelled = completed_iso = cancelled_iso = None
        if completed_at == placed:
            completed, completed_iso = placed_at, placed_iso
        elif completed_at is not None:
            completed = fromtimestamp(completed_at, UTC)
            completed_iso = completed.isoformat()
        if status == "cancelled":
            # record_order stamps a cancelled order with the time it records it.
            cancelled, cancelled_iso = recorded_at, recorded_at.isoformat()
        currency = self.currency
        detail = {
            "order": order_uuid, "source": source, "external_id": external_id,
            "channel": channel, "status": status, "total_q": total, "refunded_q": 0,
            "net_q": total, "currency": currency, "placed_at": placed_iso,
            "completed_at": completed_iso, "cancelled_at": cancelled_iso,
        }  # fmt: skip
        title = f"Order {external_id} {ORDER_VERBS[status]}: {self.amount(total)}"
        batch.events.append(
            (
                self._uuid(), self.tenant_id, customer_id, "order", title[:TITLE_LIMIT], "", "",
                "", {"kind": "order_created", **detail}, ACTOR, recorded_at,
            )
        )  # fmt: skip
        refunded = 0
        updated = recorded
        if status == "completed" and total > 1 and rnd() < habits.refund_share:
            refunds = []
            if rnd() < habits.full_refund_share:
                refunds.append(total)
            else:
                part = lines[-1][0]
                first = self.prices[part.sku] if len(lines) > 1 else 0
                if not 0 < first < total:
                    first = max(1, int(total * self._pick((0.2, 0.3, 0.5))))
                refunds.append(first)
                if rnd() < 0.15:
                    refunds.append(total - first)
            at = recorded
            for amount_q in refunds:
                at = at + 3600 + int(rnd() * 14 * DAY)
                if at > now:
                    break
                refunded += amount_q
                status = "refunded" if refunded == total else "partially_refunded"
                refund_uuid, reference = self._uuid(), f"refund:{self._uuid()}"
                refund_at = fromtimestamp(at, UTC)
                batch.order_refunds.append(
                    (
                        refund_uuid, position, amount_q, self._pick(habits.refund_reasons),
                        reference, ACTOR, refund_at,
                    )
                )  # fmt: skip
                whole = "fully refunded" if status == "refunded" else "refunded"
                title = f"Order {external_id} {whole}: {self.amount(amount_q)}"
                batch.events.append(
                    (
                        self._uuid(), self.tenant_id, customer_id, "order", title[:TITLE_LIMIT],
                        "", "", "",
                        {
                            "kind": "order_refunded", **detail, "status": status,
                            "refunded_q": refunded, "net_q": total - refunded,
                            "refund": refund_uuid, "amount_q": amount_q, "reference": reference,
                        },
                        ACTOR, refund_at,
                    )
                )  # fmt: skip
                updated = at
        batch.orders.append(
            (
                position, order_uuid, self.tenant_id, customer_id, source, external_id, channel,
                status, placed_at, completed, cancelled, total, refunded, currency,
                metadata or {}, recorded_at, recorded_at if updated == recorded else
                fromtimestamp(updated, UTC),
            )
        )  # fmt: skip

    # --- visits ------------------------------------------------------------------------------

    def _visits(
        self,
        batch: Batch,
        customer: DemoCustomer,
        moments: list[tuple[float, bool]],
        pets: list[DemoPet],
        favourites: tuple[Product, ...],
        multiplier: float,
        end: float,
    ) -> None:
        rnd, pick = self.random.random, self._pick
        vet_draw = rnd()
        roster = self.roster
        own_vet = roster["vet"][int(vet_draw * len(roster["vet"]))] if "vet" in roster else ""
        channels = self.channels.get(customer.source, self.channels[""])
        alive = False
        last = customer.created
        for at, alive in moments:
            # Appointments start on the half hour: the one after the moment drawn.
            start = at + (-(at - self.hours.midnight(self.hours.day_of(at)))) % 1800
            if start > end:
                break
            living = [pet for pet in pets if pet.is_alive_at(start)]
            if pets and not living:
                alive = False  # no animal left to bring
                break
            pet = pick(living) if living else None
            service = pick(self.services)
            staff = own_vet if service.role == "vet" and rnd() < 0.7 else pick(roster[service.role])
            given = self._visit(batch, customer, service, staff, pet, start, end)
            if given is not None:
                last = given
                count = pick(self.habits.line_counts)
                lines = [(service, 1), *self._lines(favourites, multiplier, "", count)]
                external = batch.visits[-1][4]
                self._order(batch, customer.id, given, "pos", lines, {"visit": external})
                if rnd() < PRODUCT_ORDER_SHARE:
                    later = self.hours.slot(rnd, given + (7 + 33 * rnd()) * DAY)
                    if later <= end:
                        channel = pick(channels)
                        count = 1 + (rnd() < 0.3)
                        products = self._lines(favourites, multiplier, "", count)
                        self._order(batch, customer.id, later, channel, products)
            else:
                last = max(last, start)
        if alive and customer.archived is None and rnd() < BOOKED_AHEAD_SHARE:
            ahead = self.hours.slot(rnd, self.now + 3600 + rnd() * 30 * DAY, step=30)
            living = [pet for pet in pets if pet.is_alive_at(self.now)]
            if living or not pets:
                pet = pick(living) if living else None
                service = pick(self.booked_services)
                staff = pick(roster[service.role])
                booked = max(last, self.now - rnd() * 14 * DAY)
                booked = min(self.now, max(booked, customer.created + 60))
                self._write_visit(
                    batch, customer.id, service, staff, pet, "scheduled", ahead, None, None,
                    booked,
                )  # fmt: skip

    def _visit(
        self,
        batch: Batch,
        customer: DemoCustomer,
        service: Service,
        staff: str,
        pet: DemoPet | None,
        start: float,
        end: float,
    ) -> float | None:
        """A past visit as the booking tool reports it once it is over; when it ended if given."""
        rnd = self.random.random
        customer_id = customer.id
        draw = rnd()
        if service.walk_in:
            draw = 1.0  # seen at once: never cancelled nor missed
        if draw < VISIT_CANCELLED_SHARE:
            # Called off a few hours to three days before, never before the customer joined.
            cancelled = max(start - 3600 - rnd() * 3 * DAY, customer.created + 60)
            cancelled = min(cancelled, self.now)
            self._write_visit(
                batch, customer_id, service, staff, pet, "cancelled", start, None, cancelled,
                cancelled,
            )  # fmt: skip
            return None
        if draw < VISIT_CANCELLED_SHARE + VISIT_NO_SHOW_SHARE:
            marked = min(self.now, start + 1800 + rnd() * 5400)
            self._write_visit(
                batch, customer_id, service, staff, pet, "no_show", start, None, marked, marked
            )
            return None
        finished = start + service.minutes * 60 + int(rnd() * 600)
        if finished > min(end, self.now):
            return None
        recorded = min(self.now, finished + 60 + int(rnd() * 540))
        scheduled = None if service.walk_in else start
        self._write_visit(
            batch, customer_id, service, staff, pet, "completed", scheduled, finished, None,
            recorded,
        )  # fmt: skip
        return finished

    def _write_visit(
        self,
        batch: Batch,
        customer_id: int,
        service: Service,
        staff: str,
        pet: DemoPet | None,
        status: str,
        scheduled: float | None,
        completed: float | None,
        cancelled: float | None,
        recorded: float,
    ) -> None:
        """The row record_visit writes for a visit reported with this status, and its entry."""
        when = self._when
        visit_uuid = self._uuid()
        external_id = self.external_id("booking")
        price = self.prices[service.sku]
        scheduled_at = when(scheduled) if scheduled is not None else None
        completed_at = when(completed) if completed is not None else None
        cancelled_at = when(cancelled) if cancelled is not None else None
        recorded_at = when(recorded)
        occurred_at = completed_at or scheduled_at or recorded_at
        pet_uuid = pet.uuid if pet is not None and self.with_pets else None
        pet_name = pet.name if pet is not None else ""
        notes = (
            self._pick(VISIT_NOTES) if status == "completed" and self.random.random() < 0.3 else ""
        )
        batch.visits.append(
            (
                visit_uuid, self.tenant_id, customer_id, "booking", external_id, service.name,
                status, scheduled_at, completed_at, cancelled_at, occurred_at, staff, pet_uuid,
                pet_name, price, self.currency, notes, {}, recorded_at, recorded_at,
            )
        )  # fmt: skip
        title = VISIT_TITLES[status].format(service=service.name)
        if pet_name:
            title += f" ({pet_name})"
        batch.events.append(
            (
                self._uuid(), self.tenant_id, customer_id, "visit", title[:TITLE_LIMIT], "", "",
                "",
                {
                    "kind": "visit_recorded", "visit": visit_uuid, "source": "booking",
                    "external_id": external_id, "service": service.name, "status": status,
                    "scheduled_at": _iso(scheduled_at), "completed_at": _iso(completed_at),
                    "pet": pet_uuid, "price_q": price, "currency": self.currency,
                },
                ACTOR, recorded_at,
            )
        )  # fmt: skip
