"""Every change to consent, and the reads other apps check before sending anything.

A change writes the consent row, appends a `ConsentChange` with its proof, and publishes a
`consent_changed` customer change (timeline entry and `consent.changed` outbox event), all in
one transaction. Repeating a change records nothing new: granting an opted-in channel again
with the same proof, or revoking an opted-out one, returns the row as it is. Granting again with
different proof (a new notice version, another legal basis) is a new grant and is recorded.
"""

import datetime as dt
import smtplib
from dataclasses import dataclass, replace
from functools import partial

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_ipv46_address
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.consent import conf, selectors, tokens
from rapport.consent.models import (
    Channel,
    CommunicationConsent,
    ConsentChange,
    LegalBasis,
    Status,
)
from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import ContactPoint, Customer
from rapport.customers.services import find_customer
from rapport.exceptions import InvalidInput, NotFound, RapportError
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

SOURCE_LIMIT = 100
USER_AGENT_LIMIT = 500
NOTICE_VERSION_LIMIT = 50

# Sources this app writes itself. Erasure keeps them; any other source is the caller's free text.
DOUBLE_OPT_IN = "double_opt_in"
UNSUBSCRIBE_LINK = "unsubscribe_link"
ONE_CLICK_UNSUBSCRIBE = "one_click_unsubscribe"
MERGE = "merge"
MERGE_UNDONE = "merge_undone"
ERASURE = "erasure"
SYSTEM_SOURCES = frozenset(
    {DOUBLE_OPT_IN, UNSUBSCRIBE_LINK, ONE_CLICK_UNSUBSCRIBE, MERGE, MERGE_UNDONE, ERASURE}
)

PROOF_FIELDS = ("legal_basis", "source", "ip_address", "user_agent", "notice_version")
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "email": "email", "sms": "SMS", "push": "push"}


class DeliveryFailed(RapportError):
    """The confirmation message could not be handed to the mail server."""

    code = "delivery_failed"
    status = 503


@dataclass(frozen=True)
class Proof:
    """How and on what grounds a change was made: what `ConsentChange` keeps to prove it."""

    legal_basis: str = ""
    source: str = ""
    ip_address: str | None = None
    user_agent: str = ""
    notice_version: str = ""


@dataclass(frozen=True)
class Link:
    """A signed link for one channel of one customer."""

    channel: str
    url: str
    token: str
    expires_at: dt.datetime | None = None
    sent_to: str = ""  # the address the link was mailed to, if it was


def _check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise InvalidInput(
            "The channel is not valid",
            fields={"channel": f"Use one of {', '.join(Channel.values)}"},
        )


def _clean_proof(proof: Proof) -> Proof:
    """The proof with blanks trimmed; InvalidInput naming every field that is wrong."""
    errors = {}
    if proof.legal_basis and proof.legal_basis not in LegalBasis.values:
        errors["legal_basis"] = f"Use one of {', '.join(LegalBasis.values)}"
    source, user_agent = proof.source.strip(), proof.user_agent.strip()
    notice_version = proof.notice_version.strip()
    if len(source) > SOURCE_LIMIT:
        errors["source"] = f"At most {SOURCE_LIMIT} characters"
    if len(user_agent) > USER_AGENT_LIMIT:
        errors["user_agent"] = f"At most {USER_AGENT_LIMIT} characters"
    if len(notice_version) > NOTICE_VERSION_LIMIT:
        errors["notice_version"] = f"At most {NOTICE_VERSION_LIMIT} characters"
    ip_address = (proof.ip_address or "").strip() or None
    if ip_address is not None:
        try:
            validate_ipv46_address(ip_address)
        except ValidationError:
            errors["ip_address"] = "Not an IPv4 or IPv6 address"
    if errors:
        raise InvalidInput("Some consent details are not valid", fields=errors)
    return Proof(
        legal_basis=proof.legal_basis,
        source=source,
        ip_address=ip_address,
        user_agent=user_agent,
        notice_version=notice_version,
    )


def _customer(tenant: Tenant, code: str) -> Customer:
    customer = find_customer(tenant, code)
    if customer is None:
        raise NotFound(f"No customer with code {code!r}")
    return customer


def _locked_consent(tenant: Tenant, code: str, channel: str):
    """(customer, its consent row on `channel` locked, or None with the customer row locked)."""
    customer = _customer(tenant, code)
    rows = CommunicationConsent.objects.select_for_update()
    consent = rows.filter(customer=customer, channel=channel).first()
    if consent is None:
        # No row to lock yet: the customer's row serializes creating it. FOR NO KEY UPDATE, so
        # writers holding another consent row of the customer can still insert history rows
        # (their foreign keys take KEY SHARE on the customer) instead of deadlocking with us.
        locked = Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk)
        list(locked.values_list("pk", flat=True))
        consent = rows.filter(customer=customer, channel=channel).first()
    return customer, consent


def title_of(channel: str, status: str) -> str:
    """The timeline title of a change to `status` on `channel`."""
    name = CHANNEL_NAMES.get(channel, channel)
    if status == Status.OPTED_IN:
        return f"Opted in to {name} marketing"
    if status == Status.OPTED_OUT:
        return f"Opted out of {name} marketing"
    return f"Consent to {name} marketing back to pending"


def record_change(
    *,
    actor: Actor,
    customer: Customer,
    channel: str,
    previous_status: str,
    new_status: str,
    proof: Proof,
    at: dt.datetime,
) -> ConsentChange:
    """Append the history row and publish the change; the caller holds the transaction."""
    change = ConsentChange.objects.create(
        tenant=customer.tenant,
        customer=customer,
        channel=channel,
        previous_status=previous_status,
        new_status=new_status,
        legal_basis=proof.legal_basis,
        source=proof.source,
        ip_address=proof.ip_address,
        user_agent=proof.user_agent,
        notice_version=proof.notice_version,
        actor=actor.label[:200],
        created_at=at,
    )
    hooks.publish(
        CustomerChange(
            kind="consent_changed",
            customer=customer,
            actor=actor,
            title=title_of(channel, new_status),
            timeline_type="contact",
            event="consent.changed",
            detail={
                "channel": channel,
                "status": new_status,
                "previous_status": previous_status,
                "legal_basis": proof.legal_basis,
                "source": proof.source,
            },
        )
    )
    return change


def _change(
    *, actor: Actor, code: str, channel: str, status: str, proof: Proof
) -> CommunicationConsent:
    _check_channel(channel)
    proof = _clean_proof(proof)
    with transaction.atomic():
        customer, consent = _locked_consent(actor.tenant, code, channel)
        previous = consent.status if consent is not None else Status.PENDING
        if consent is not None and previous == status:
            if status == Status.OPTED_OUT:
                return consent  # the first revocation stands
            if all(getattr(consent, name) == getattr(proof, name) for name in PROOF_FIELDS):
                return consent
        now = timezone.now()
        if consent is None:
            consent = CommunicationConsent(
                tenant=actor.tenant, customer=customer, channel=channel, created_at=now
            )
        if not proof.legal_basis:  # a revocation keeps the basis it revokes
            proof = replace(proof, legal_basis=consent.legal_basis)
        for name in PROOF_FIELDS:
            setattr(consent, name, getattr(proof, name))
        consent.status = status
        if status == Status.OPTED_IN:
            consent.consented_at = now
        else:
            consent.revoked_at = now
        consent.updated_at = now
        consent.save()
        record_change(
            actor=actor,
            customer=customer,
            channel=channel,
            previous_status=previous,
            new_status=status,
            proof=proof,
            at=now,
        )
    return consent


def _tenant_of(claim: tokens.Claim) -> Tenant:
    tenant = Tenant.objects.filter(pk=claim.tenant_id).first()
    if tenant is None or claim.channel not in Channel.values:
        raise NotFound("The link names a customer that no longer exists")
    return tenant


def _email_of(customer: Customer) -> str:
    if customer.email:
        return customer.email
    contact_point = (
        ContactPoint.objects.filter(customer=customer, type=ContactPoint.Type.EMAIL)
        .order_by("-is_primary", "created_at")
        .first()
    )
    return contact_point.value if contact_point is not None else ""


class ConsentService:
    """What each customer agreed to be sent, per channel; nothing is sent without an opt-in."""

    @staticmethod
    def grant_consent(
        *,
        actor: Actor,
        code: str,
        channel: str,
        legal_basis: str = LegalBasis.CONSENT,
        source: str = "",
        ip_address: str | None = None,
        user_agent: str = "",
        notice_version: str = "",
    ) -> CommunicationConsent:
        """Record an opt-in on a channel with its proof; a repeat with the same proof is a no-op."""
        proof = Proof(
            legal_basis=legal_basis or LegalBasis.CONSENT,
            source=source,
            ip_address=ip_address,
            user_agent=user_agent,
            notice_version=notice_version,
        )
        return _change(actor=actor, code=code, channel=channel, status=Status.OPTED_IN, proof=proof)

    @staticmethod
    def revoke_consent(
        *,
        actor: Actor,
        code: str,
        channel: str,
        legal_basis: str = "",
        source: str = "",
        ip_address: str | None = None,
        user_agent: str = "",
        notice_version: str = "",
    ) -> CommunicationConsent:
        """Record an opt-out on a channel, at once; revoking an opted-out channel is a no-op."""
        proof = Proof(
            legal_basis=legal_basis,
            source=source,
            ip_address=ip_address,
            user_agent=user_agent,
            notice_version=notice_version,
        )
        return _change(
            actor=actor, code=code, channel=channel, status=Status.OPTED_OUT, proof=proof
        )

    @staticmethod
    def has_consent(*, tenant: Tenant, code: str, channel: str) -> bool:
        """True only if the customer opted in on the channel: check before any marketing."""
        _check_channel(channel)
        customer = _customer(tenant, code)
        return CommunicationConsent.objects.filter(
            customer=customer, channel=channel, status=Status.OPTED_IN
        ).exists()

    @staticmethod
    def get_consents(*, tenant: Tenant, code: str) -> list[CommunicationConsent]:
        """The customer's consent on every channel; pending (unsaved) for channels never recorded."""
        customer = _customer(tenant, code)
        recorded = {
            consent.channel: consent
            for consent in CommunicationConsent.objects.filter(customer=customer)
        }
        return [
            recorded.get(channel)
            or CommunicationConsent(tenant=tenant, customer=customer, channel=channel)
            for channel in Channel.values
        ]

    @staticmethod
    def get_opted_in_channels(*, tenant: Tenant, code: str) -> list[str]:
        """The channels the customer opted in on, in channel order."""
        customer = _customer(tenant, code)
        opted_in = set(
            CommunicationConsent.objects.filter(
                customer=customer, status=Status.OPTED_IN
            ).values_list("channel", flat=True)
        )
        return [channel for channel in Channel.values if channel in opted_in]

    @staticmethod
    def get_marketable_customers(*, tenant: Tenant, channel: str) -> list[str]:
        """Codes of live customers opted in on the channel, sorted; one query."""
        _check_channel(channel)
        customers = selectors.marketable_customers(tenant=tenant, channel=channel)
        return list(customers.order_by("code").values_list("code", flat=True))

    @staticmethod
    def get_history(
        *, tenant: Tenant, code: str, channel: str | None = None
    ) -> QuerySet[ConsentChange]:
        """The customer's consent changes with their proof, newest first."""
        if channel is not None:
            _check_channel(channel)
        return selectors.consent_history(customer=_customer(tenant, code), channel=channel)

    # --- links a customer follows -----------------------------------------------------------

    @staticmethod
    def unsubscribe_link(*, tenant: Tenant, code: str, channel: str) -> Link:
        """A signed link that opts the customer out of one channel; it does not expire."""
        _check_channel(channel)
        customer = _customer(tenant, code)
        claim = tokens.Claim(tenant_id=tenant.pk, code=customer.code, channel=channel)
        token = tokens.sign(claim, salt=tokens.UNSUBSCRIBE_SALT)
        return Link(channel=channel, url=f"{conf.public_url()}/unsubscribe/{token}", token=token)

    @staticmethod
    def unsubscribe(
        *,
        token: str,
        ip_address: str | None = None,
        user_agent: str = "",
        one_click: bool = False,
    ) -> CommunicationConsent:
        """Opt out of the channel an unsubscribe link names; following it twice changes nothing."""
        claim = tokens.read(token, salt=tokens.UNSUBSCRIBE_SALT)
        tenant = _tenant_of(claim)
        return ConsentService.revoke_consent(
            actor=Actor.for_system(tenant, UNSUBSCRIBE_LINK),
            code=claim.code,
            channel=claim.channel,
            source=ONE_CLICK_UNSUBSCRIBE if one_click else UNSUBSCRIBE_LINK,
            ip_address=ip_address,
            user_agent=user_agent,
        )

    @staticmethod
    def request_confirmation(
        *, actor: Actor, code: str, channel: str, notice_version: str = ""
    ) -> Link:
        """A signed, expiring link that opts the customer in; on email it is mailed to them."""
        _check_channel(channel)
        notice_version = _clean_proof(Proof(notice_version=notice_version)).notice_version
        customer = _customer(actor.tenant, code)
        claim = tokens.Claim(
            tenant_id=actor.tenant.pk,
            code=customer.code,
            channel=channel,
            notice_version=notice_version,
        )
        token = tokens.sign(claim, salt=tokens.CONFIRMATION_SALT)
        max_age = conf.confirmation_max_age()
        link = Link(
            channel=channel,
            url=f"{conf.public_url()}/confirm/{token}",
            token=token,
            expires_at=timezone.now() + dt.timedelta(seconds=max_age),
        )
        if channel != Channel.EMAIL:
            return link  # the caller delivers it on its own channel
        email = _email_of(customer)
        if not email:
            raise InvalidInput(
                "The customer has no email address to send the link to",
                fields={"channel": "Add an email address to the customer first"},
            )
        # The mail goes out from a background task once the caller's transaction commits.
        from rapport.consent.tasks import send_confirmation_email  # it imports this module

        transaction.on_commit(
            partial(
                send_confirmation_email.enqueue,
                tenant_id=actor.tenant.pk,
                code=customer.code,
                token=token,
            )
        )
        return replace(link, sent_to=email)

    @staticmethod
    def send_confirmation_email(*, tenant: Tenant, code: str, token: str) -> str:
        """Mail a double opt-in link to the customer; the address it went to, or "" when the
        customer or their address is gone by now. DeliveryFailed when the server refuses."""
        customer = find_customer(tenant, code)
        email = _email_of(customer) if customer is not None else ""
        if not email:
            return ""
        business = tenant.name
        max_age = conf.confirmation_max_age()
        url = f"{conf.public_url()}/confirm/{token}"
        try:
            send_mail(
                subject=f"Please confirm you want emails from {business}",
                message=(
                    f"Hello {customer.first_name or ''}".rstrip()
                    + f",\n\nTo receive news and offers from {business} by email, confirm here:"
                    f"\n\n{url}\n\nThe link works for {max(1, max_age // 3600)} hours. "
                    "If you did not ask for this, ignore this message.\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"The confirmation email could not be sent: {error}") from None
        return email

    @staticmethod
    def confirm(
        *, token: str, ip_address: str | None = None, user_agent: str = ""
    ) -> CommunicationConsent:
        """Opt in on the channel a confirmation link names (double opt-in), if it has not expired."""
        claim = tokens.read(
            token, salt=tokens.CONFIRMATION_SALT, max_age=conf.confirmation_max_age()
        )
        tenant = _tenant_of(claim)
        return ConsentService.grant_consent(
            actor=Actor.for_system(tenant, DOUBLE_OPT_IN),
            code=claim.code,
            channel=claim.channel,
            legal_basis=LegalBasis.CONSENT,
            source=DOUBLE_OPT_IN,
            ip_address=ip_address,
            user_agent=user_agent,
            notice_version=claim.notice_version,
        )
