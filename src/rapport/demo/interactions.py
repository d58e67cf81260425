"""Demo interactions: the calls, messages and visits staff logged, with their follow-ups.

A modest number per customer, on the channels the customer can be reached on, handled by the
business's staff; more of them lately (staff log more once they use rapport every day). Some
need a follow-up: most of the older ones are done, a few are overdue, some are due today. The
rows are what InteractionService.log_interaction writes (the interaction and its timeline
entry) and, for a follow-up done, what complete_follow_up adds.
"""

import datetime as dt
from dataclasses import dataclass

from rapport.demo.generator import ACTOR, Batch, DemoCustomer
from rapport.demo.rows import AppRows
from rapport.demo.workplace import DAY, OpeningHours


@dataclass(frozen=True)
class Touch:
    """A kind of interaction a business has with its customers."""

    interaction_type: str  # as rapport.timeline.models.InteractionType
    channel: str  # as InteractionChannel
    direction: str
    subject: str
    outcomes: tuple[str, ...]
    follow_up_share: float = 0.0
    minutes: tuple[int, int] | None = None  # how long it took, for calls and visits
    role: str = ""  # who handles it; "" is anyone on the roster
    weight: int = 1
    notes: tuple[str, ...] = ()


RETAIL = (
    Touch("call", "phone", "outbound", "Confirmed the delivery address", ("Confirmed", "No answer"),
          0.1, (1, 5), weight=3),
    Touch("whatsapp", "whatsapp", "inbound", "Asked about prices", ("Sent the price list",
          "Quoted"), 0.3, weight=4, notes=("Wants the blue one in size 42.",)),
    Touch("whatsapp", "whatsapp", "outbound", "Sent new arrivals", ("Interested", "No reply"),
          0.15, weight=3),
    Touch("sms", "sms", "outbound", "Order ready for pick-up", ("Delivered",), weight=2),
    Touch("email", "email", "outbound", "Receipt and thank-you note", ("Sent",), weight=2),
    Touch("chat", "social", "inbound", "Asked if the sneakers come in size 44", ("Answered",),
          0.2),
    Touch("visit", "in_person", "inbound", "Came in to return an item", ("Exchanged",
          "Refunded"), 0.2, (10, 25), notes=("Wrong size; exchanged for one size up.",)),
    Touch("call", "phone", "inbound", "Complained about a late delivery",
          ("Apologised; voucher promised", "Escalated to the manager"), 0.6, (3, 12)),
)  # fmt: skip
CAFE = (
    Touch("call", "phone", "inbound", "Table booking for the weekend", ("Booked",), 0.05, (1, 4),
          weight=3),
    Touch("whatsapp", "whatsapp", "inbound", "Cake order for a birthday", ("Order confirmed",
          "Quoted"), 0.5, weight=3, notes=("Chocolate, 20 people, write 'Happy 40th'.",)),
    Touch("email", "email", "outbound", "Catering quote for the office", ("Quote sent",), 0.6),
    Touch("visit", "in_person", "inbound", "Feedback on the new menu", ("Thanked",
          "Passed on to the kitchen"), 0.1, (2, 10), weight=2),
    Touch("sms", "sms", "outbound", "Stamp card: one coffee to go", ("Sent",), weight=2),
    Touch("chat", "social", "inbound", "Asked about vegan options", ("Answered",), 0.1),
    Touch("call", "phone", "inbound", "Left a scarf in the café", ("Kept at the counter",), 0.3,
          (1, 3)),
)  # fmt: skip
CLINIC = (
    Touch("call", "phone", "outbound", "Lab results", ("Results explained", "Left a voicemail"),
          0.4, (3, 15), role="vet", weight=3),
    Touch("whatsapp", "whatsapp", "outbound", "Vaccine reminder", ("Booked", "No reply"), 0.3,
          weight=4),
    Touch("whatsapp", "whatsapp", "inbound", "Asked about deworming", ("Advised", "Booked"), 0.2,
          weight=2),
    Touch("sms", "sms", "outbound", "Appointment reminder", ("Sent",), weight=3),
    Touch("email", "email", "outbound", "Invoice sent", ("Sent",), 0.05),
    Touch("call", "phone", "inbound", "Pet not eating after surgery", ("Advised to come in",
          "Reassured"), 0.7, (5, 20), role="vet",
          notes=("Ate a little this evening; call back tomorrow.",)),
    Touch("visit", "in_person", "inbound", "Picked up medication", ("Collected",), 0.0, (2, 8)),
)  # fmt: skip
TOUCHES = {"retail": RETAIL, "cafe": CAFE, "clinic": CLINIC}
# Interactions per customer: 0 to 5, mean about 1.1.
COUNTS = (0,) * 40 + (1,) * 30 + (2,) * 15 + (3,) * 8 + (4,) * 4 + (5,) * 3
RECENT_SHARE = 0.5  # of interactions in the last RECENT_DAYS
RECENT_DAYS = 60
FOLLOW_UP_DAYS = (0, 1, 1, 2, 3, 7)  # after the interaction's day
# As InteractionType / Direction label them, for the titles InteractionService writes.
TYPE_LABELS = {
    "call": "Phone call",
    "email": "Email",
    "chat": "Chat",
    "visit": "In-person visit",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
}
# Who can be reached where: a channel needs a phone, an email address or a social handle.
NEEDS = {"phone": "phone", "whatsapp": "phone", "sms": "phone", "email": "email"}


def title_of(interaction_type: str, direction: str, subject: str) -> str:
    """The timeline title InteractionService gives an interaction."""
    kind = f"{direction.capitalize()} {TYPE_LABELS[interaction_type]}"
    kind = kind[0] + kind[1:].lower().replace("sms", "SMS").replace("whatsapp", "WhatsApp")
    return (f"{kind}: {subject}" if subject else kind)[:200]


class InteractionRows(AppRows):
    """A few interactions per customer, each with its timeline entry (and its follow-up's)."""

    app = "interactions"

    def __init__(
        self, *, hours: OpeningHours, roster: dict[str, tuple[str, ...]], **common
    ) -> None:
        super().__init__(**common)
        touches = TOUCHES.get(self.business.key, RETAIL)
        self.touches = tuple(t for t in touches for _ in range(t.weight))
        self.hours = hours
        self.roster = roster
        self.everyone = tuple(name for names in roster.values() for name in names)
        self.today = hours.date_of(self.now)

    def draw(self, batch: Batch, customer: DemoCustomer) -> None:
        rnd, pick = self.random.random, self._pick
        count = pick(COUNTS)
        created, now = customer.created, self.now
        for _ in range(count):
            touch = pick(self.touches)
            when_draw, staff_draw, outcome_draw, notes_draw = rnd(), rnd(), rnd(), rnd()
            follow_draw, days_draw, done_draw, done_at_draw = rnd(), rnd(), rnd(), rnd()
            duration_draw = rnd()
            if not self._reachable(customer, touch):
                continue
            start = max(created, now - RECENT_DAYS * DAY) if rnd() < RECENT_SHARE else created
            occurred = self.hours.slot(rnd, start + (now - start) * when_draw)
            if occurred > now:
                continue
            names = self.roster.get(touch.role) or self.everyone
            staff = names[int(staff_draw * len(names))]
            outcome = touch.outcomes[int(outcome_draw * len(touch.outcomes))]
            notes = ""
            if touch.notes and notes_draw < 0.3:
                notes = touch.notes[int(notes_draw / 0.3 * len(touch.notes))]
            minutes = None
            if touch.minutes is not None:
                low, high = touch.minutes
                minutes = low + int(duration_draw * (high - low + 1))
            recorded = min(now, occurred + (minutes or 0) * 60 + 30 + int(rnd() * 270))
            follow_up_date = None
            done = None
            if follow_draw < touch.follow_up_share:
                occurred_on = self.hours.date_of(occurred)
                follow_up_date = occurred_on + dt.timedelta(
                    days=FOLLOW_UP_DAYS[int(days_draw * len(FOLLOW_UP_DAYS))]
                )
                done_share = 0.85 if follow_up_date < self.today else 0.3
                if follow_up_date > self.today:
                    done_share = 0.1
                if done_draw < done_share:
                    due_end = self.hours.midnight(
                        self.hours.day_of(recorded) + (follow_up_date - occurred_on).days + 1
                    )
                    latest = min(now, due_end + DAY * 2)
                    done = min(now, recorded + 60 + (latest - recorded) * done_at_draw)
            self._write(
                batch, customer.id, touch, staff, outcome, notes, minutes, occurred, recorded,
                follow_up_date, done,
            )  # fmt: skip

    @staticmethod
    def _reachable(customer: DemoCustomer, touch: Touch) -> bool:
        needs = NEEDS.get(touch.channel)
        if needs == "phone":
            return bool(customer.phone)
        if needs == "email":
            return bool(customer.email)
        if touch.channel == "social":
            return bool(customer.instagram or customer.facebook)
        return True

    def _write(
        self,
        batch: Batch,
        customer_id: int,
        touch: Touch,
        staff: str,
        outcome: str,
        notes: str,
        minutes: int | None,
        occurred: float,
        recorded: float,
        follow_up_date: dt.date | None,
        done: float | None,
    ) -> None:
        when = self._when
        tenant_id = self.tenant_id
        interaction_uuid = self._uuid()
        occurred_at, recorded_at = when(occurred), when(recorded)
        done_at = when(done) if done is not None else None
        position = len(batch.interaction_events)
        batch.interaction_events.append(
            (
                position, self._uuid(), tenant_id, customer_id, "contact",
                title_of(touch.interaction_type, touch.direction, touch.subject), notes,
                touch.channel, f"interaction:{interaction_uuid}",
                {
                    "kind": "interaction_logged", "interaction": interaction_uuid,
                    "interaction_type": touch.interaction_type, "direction": touch.direction,
                },
                ACTOR, recorded_at,
            )
        )  # fmt: skip
        batch.interactions.append(
            (
                interaction_uuid, tenant_id, customer_id, touch.interaction_type, touch.channel,
                touch.direction, touch.subject, notes, staff, minutes, outcome,
                follow_up_date is not None, follow_up_date, done_at, occurred_at, position,
                recorded_at, done_at or recorded_at,
            )
        )  # fmt: skip
        if done_at is not None:
            payload = {
                "id": interaction_uuid,
                "interaction_type": touch.interaction_type,
                "channel": touch.channel,
                "direction": touch.direction,
                "subject": touch.subject,
                "outcome": outcome,
                "handled_by": staff,
                "duration_minutes": minutes,
                "follow_up_required": True,
                "follow_up_date": follow_up_date.isoformat(),
                "follow_up_done_at": done_at.isoformat(),
                "occurred_at": occurred_at.isoformat(),
            }
            batch.events.append(
                (
                    self._uuid(), tenant_id, customer_id, "contact",
                    f"Follow-up done: {touch.subject}"[:200], "", "", "",
                    {"kind": "interaction_follow_up_completed", "interaction": payload},
                    ACTOR, done_at,
                )
            )  # fmt: skip
