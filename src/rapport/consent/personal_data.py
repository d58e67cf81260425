"""Consent in a customer's export, erasure and merges (registered in ConsentConfig.ready).

Merging keeps the strictest wish per channel: an explicit opt-out beats an opt-in, which beats
pending. The winning row's proof comes with it. The duplicate's history moves to the survivor;
the duplicate's losing rows stay on the duplicate's record, unused, so undo restores them as
they were. Each channel the merge changed on the survivor gets a history row (source `merge`);
undoing adds another (source `merge_undone`): history is only ever appended to.
"""

import datetime as dt
from typing import Any

from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from rapport.consent.models import CommunicationConsent, ConsentChange, Status
from rapport.consent.services import (
    ERASURE,
    MERGE,
    MERGE_UNDONE,
    PROOF_FIELDS,
    SYSTEM_SOURCES,
    Proof,
    record_change,
)
from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.tenancy.actors import Actor

RANK = {Status.PENDING: 0, Status.OPTED_IN: 1, Status.OPTED_OUT: 2}
# The consent row's fields a merge may overwrite on the survivor, and undo puts back.
STATE_FIELDS = ("status", *PROOF_FIELDS, "consented_at", "revoked_at", "updated_at")
TIMES = ("consented_at", "revoked_at", "updated_at")


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _consent_data(consent: CommunicationConsent) -> dict[str, Any]:
    return {
        "channel": consent.channel,
        "status": consent.status,
        "legal_basis": consent.legal_basis,
        "source": consent.source,
        "ip_address": consent.ip_address,
        "user_agent": consent.user_agent,
        "notice_version": consent.notice_version,
        "consented_at": _time(consent.consented_at),
        "revoked_at": _time(consent.revoked_at),
        "updated_at": _time(consent.updated_at),
    }


def _change_data(change: ConsentChange) -> dict[str, Any]:
    return {
        "id": str(change.uuid),
        "channel": change.channel,
        "previous_status": change.previous_status,
        "new_status": change.new_status,
        "legal_basis": change.legal_basis,
        "source": change.source,
        "ip_address": change.ip_address,
        "user_agent": change.user_agent,
        "notice_version": change.notice_version,
        "actor": change.actor,
        "created_at": _time(change.created_at),
    }


def _state(consent: CommunicationConsent) -> dict[str, Any]:
    return {
        name: _time(getattr(consent, name)) if name in TIMES else getattr(consent, name)
        for name in STATE_FIELDS
    }


def _restore(consent: CommunicationConsent, state: dict[str, Any]) -> None:
    for name in STATE_FIELDS:
        value = state[name]
        if name in TIMES and value is not None:
            value = dt.datetime.fromisoformat(value)
        setattr(consent, name, value)


def _proof(consent: CommunicationConsent, source: str) -> Proof:
    return Proof(
        legal_basis=consent.legal_basis,
        source=source,
        ip_address=consent.ip_address,
        user_agent=consent.user_agent,
        notice_version=consent.notice_version,
    )


def _rows(customer: Customer) -> dict[str, CommunicationConsent]:
    rows = CommunicationConsent.objects.select_for_update().filter(customer=customer)
    return {consent.channel: consent for consent in rows.order_by("channel")}


def _rank(consent: CommunicationConsent | None) -> int:
    return RANK[consent.status] if consent is not None else 0


class ConsentData:
    """Consent rows and their history: exported, erased of identifying proof, merged."""

    name = "consent"

    def export(self, customer: Customer) -> dict[str, Any]:
        """The current consent per recorded channel and the full history, oldest first."""
        consents = CommunicationConsent.objects.filter(customer=customer).order_by("channel")
        history = ConsentChange.objects.filter(customer=customer).order_by("created_at", "id")
        return {
            "consents": [_consent_data(consent) for consent in consents],
            "history": [_change_data(change) for change in history],
        }

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Withdraw every opt-in (a person who asked to be forgotten is sent nothing), then
        blank IPs, user agents and free-text sources. Statuses stay, so opt-outs hold."""
        now = timezone.now()
        withdrawn = 0
        for consent in CommunicationConsent.objects.filter(
            customer=customer, status=Status.OPTED_IN
        ):
            consent.status, consent.revoked_at, consent.updated_at = Status.OPTED_OUT, now, now
            consent.source, consent.ip_address, consent.user_agent = ERASURE, None, ""
            consent.save()
            record_change(
                actor=erasure.actor,
                customer=customer,
                channel=consent.channel,
                previous_status=Status.OPTED_IN,
                new_status=Status.OPTED_OUT,
                proof=Proof(legal_basis=consent.legal_basis, source=ERASURE),
                at=now,
            )
            withdrawn += 1
        identifying = (
            Q(ip_address__isnull=False) | ~Q(user_agent="") | ~Q(source__in=[*SYSTEM_SOURCES, ""])
        )
        scrubbed = {
            "ip_address": None,
            "user_agent": "",
            "source": Case(When(source__in=SYSTEM_SOURCES, then=F("source")), default=Value("")),
        }
        consents = CommunicationConsent.objects.filter(customer=customer).filter(identifying)
        changes = ConsentChange.objects.filter(customer=customer).filter(identifying)
        return withdrawn + consents.update(**scrubbed) + changes.update(**scrubbed)

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """Per channel, whose consent the survivor keeps and why; and the history that moves."""
        theirs = {c.channel: c for c in CommunicationConsent.objects.filter(customer=duplicate)}
        ours = {c.channel: c for c in CommunicationConsent.objects.filter(customer=survivor)}
        steps = []
        for channel in sorted(theirs):
            action, reason = _decide(theirs[channel], ours.get(channel))
            steps.append(
                MergeStep(
                    app=self.name,
                    what=f"consent on {channel}",
                    action=action,
                    reason=reason,
                    detail={
                        "channel": channel,
                        "duplicate": theirs[channel].status,
                        "survivor": ours[channel].status if channel in ours else Status.PENDING,
                    },
                )
            )
        moved = ConsentChange.objects.filter(customer=duplicate).count()
        if moved:
            steps.append(
                MergeStep(
                    app=self.name,
                    what=f"{moved} consent change{'s' if moved != 1 else ''}",
                    action="move",
                    reason="The history proves what was agreed; it follows the person",
                )
            )
        return steps

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Keep the strictest consent per channel on the survivor and move the history there."""
        theirs, ours = _rows(duplicate), _rows(survivor)
        moved = list(
            ConsentChange.objects.filter(customer=duplicate)
            .order_by("id")
            .values_list("id", flat=True)
        )
        ConsentChange.objects.filter(pk__in=moved).update(customer=survivor)
        channels = []
        now = timezone.now()
        for channel, consent in sorted(theirs.items()):
            kept = ours.get(channel)
            if _rank(consent) <= _rank(kept):
                continue
            previous = kept.status if kept is not None else Status.PENDING
            if kept is None:
                consent.customer = survivor
                consent.save(update_fields=["customer"])
                entry = {"channel": channel, "action": "moved", "consent": consent.pk}
            else:
                entry = {"channel": channel, "action": "took", "before": _state(kept)}
                for name in STATE_FIELDS:
                    setattr(kept, name, getattr(consent, name))
                kept.save(update_fields=list(STATE_FIELDS))
            change = record_change(
                actor=actor,
                customer=survivor,
                channel=channel,
                previous_status=previous,
                new_status=consent.status,
                proof=_proof(consent, MERGE),
                at=now,
            )
            channels.append({**entry, "change": change.pk})
        return {"channels": channels, "history": moved}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """A consent change on the survivor after the merge, on a channel it changed, blocks."""
        return [
            f"The survivor's {entry['channel']} consent changed after the merge"
            for entry in journal.get("channels", [])
            if ConsentChange.objects.filter(
                customer=survivor, channel=entry["channel"], pk__gt=entry["change"]
            ).exists()
        ]

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Give the duplicate back its rows and history; the survivor's consent as it was."""
        ours = _rows(survivor)
        now = timezone.now()
        for entry in journal.get("channels", []):
            channel = entry["channel"]
            consent = ours.get(channel)
            if consent is None:
                continue  # deleted since; nothing to put back
            current = consent.status
            if entry["action"] == "moved":
                consent.customer = duplicate
                consent.save(update_fields=["customer"])
                restored = Status.PENDING
                proof = Proof(source=MERGE_UNDONE)
            else:
                _restore(consent, entry["before"])
                consent.save(update_fields=list(STATE_FIELDS))
                restored = consent.status
                proof = _proof(consent, MERGE_UNDONE)
            record_change(
                actor=actor,
                customer=survivor,
                channel=channel,
                previous_status=current,
                new_status=restored,
                proof=proof,
                at=now,
            )
        ConsentChange.objects.filter(pk__in=journal.get("history", []), customer=survivor).update(
            customer=duplicate
        )


def _decide(theirs: CommunicationConsent, ours: CommunicationConsent | None) -> tuple[str, str]:
    if _rank(theirs) <= _rank(ours):
        if ours is not None and ours.status == theirs.status:
            return "keep survivor's", "Both have the same status"
        return "keep survivor's", "An opt-out beats an opt-in, which beats pending"
    return "take duplicate's", "An opt-out beats an opt-in, which beats pending"
