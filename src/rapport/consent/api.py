"""REST endpoints of consent: per-channel status with proof, history, links, audiences."""

import datetime as dt
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from rapport.consent import selectors
from rapport.consent.models import CommunicationConsent
from rapport.consent.services import USER_AGENT_LIMIT, ConsentService
from rapport.pagination import DATETIME, TEXT, paginate
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["consent"], auth=READ)

ChannelValue = Literal["whatsapp", "email", "sms", "push"]
LegalBasisValue = Literal["consent", "legitimate_interest", "contract", "legal_obligation"]
HISTORY_ORDER = ["-created_at"]
HISTORY_PARSERS = {"created_at": DATETIME}
CODE_ORDER = ["code"]
CODE_PARSERS = {"code": TEXT}


class ConsentOut(Schema):
    channel: str
    status: str = Field(examples=["opted_in"])
    legal_basis: str
    source: str
    ip_address: str | None
    user_agent: str
    notice_version: str
    consented_at: dt.datetime | None
    revoked_at: dt.datetime | None
    updated_at: dt.datetime | None = Field(description="Null for a channel never recorded")

    @staticmethod
    def resolve_updated_at(consent: CommunicationConsent) -> dt.datetime | None:
        return consent.updated_at if consent.pk else None


class ConsentChangeOut(Schema):
    id: UUID = Field(alias="uuid")
    channel: str
    previous_status: str
    new_status: str
    legal_basis: str
    source: str
    ip_address: str | None
    user_agent: str
    notice_version: str
    actor: str
    created_at: dt.datetime


class ConsentChangePage(Schema):
    items: list[ConsentChangeOut]
    next_cursor: str | None


class HistoryQuery(PageQuery):
    channel: ChannelValue | None = None


class ConsentIn(InputSchema):
    """The proof of a grant or revocation. The IP and user agent default to the request's."""

    legal_basis: LegalBasisValue | None = Field(
        None, description="Default: consent for a grant; unchanged for a revocation"
    )
    source: str = Field("", max_length=100, examples=["signup_form", "pos", "whatsapp_reply"])
    notice_version: str = Field("", max_length=50, examples=["privacy-2025-01"])
    ip_address: str | None = Field(None, max_length=45, examples=["203.0.113.7"])
    user_agent: str | None = Field(None, max_length=500)


class ConfirmationRequestIn(InputSchema):
    notice_version: str = Field("", max_length=50, examples=["privacy-2025-01"])


class LinkOut(Schema):
    channel: str
    url: str
    token: str
    expires_at: dt.datetime | None = Field(description="Null: the link does not expire")
    sent_to: str = Field(description="The email address the link was sent to, if it was")


class TokenIn(InputSchema):
    token: str = Field(min_length=1, max_length=1000)


class PublicConsentOut(Schema):
    """What a customer following a link learns: the channel and where it stands now."""

    channel: str
    status: str


class MarketableQuery(PageQuery):
    channel: ChannelValue


class CodePage(Schema):
    items: list[str] = Field(description="Customer codes")
    next_cursor: str | None


def request_ip(request: HttpRequest) -> str | None:
    """The address the request came from, as the server saw it."""
    return request.META.get("REMOTE_ADDR") or None


def request_user_agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")[:USER_AGENT_LIMIT]


def _proof(request: HttpRequest, payload: ConsentIn) -> dict:
    proof = payload.model_dump(exclude={"ip_address", "user_agent", "legal_basis"})
    proof["ip_address"] = payload.ip_address if payload.ip_address else request_ip(request)
    proof["user_agent"] = (
        payload.user_agent if payload.user_agent is not None else request_user_agent(request)
    )
    if payload.legal_basis:
        proof["legal_basis"] = payload.legal_basis
    return proof


@router.get("/customers/{code}/consents", response=responses({200: list[ConsentOut]}, 404))
def list_consents(request, code: str):
    """The customer's consent on every channel; pending where nothing was ever recorded."""
    return ConsentService.get_consents(tenant=actor_of(request).tenant, code=code)


@router.get("/customers/{code}/consents/history", response=responses({200: ConsentChangePage}, 404))
def consent_history(request, code: str, query: Query[HistoryQuery]):
    """Every consent change with its proof, newest first; filter with `?channel=`."""
    changes = ConsentService.get_history(
        tenant=actor_of(request).tenant, code=code, channel=query.channel
    )
    return paginate(
        changes,
        ordering=HISTORY_ORDER,
        parsers=HISTORY_PARSERS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.post(
    "/customers/{code}/consents/{channel}/grant",
    response=responses({200: ConsentOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def grant_consent(request, code: str, channel: ChannelValue, payload: ConsentIn):
    """Record an opt-in with its proof; the same grant again records nothing new."""
    return ConsentService.grant_consent(
        actor=actor_of(request), code=code, channel=channel, **_proof(request, payload)
    )


@router.post(
    "/customers/{code}/consents/{channel}/revoke",
    response=responses({200: ConsentOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def revoke_consent(request, code: str, channel: ChannelValue, payload: ConsentIn):
    """Record an opt-out, effective at once; revoking again records nothing new."""
    return ConsentService.revoke_consent(
        actor=actor_of(request), code=code, channel=channel, **_proof(request, payload)
    )


@router.post(
    "/customers/{code}/consents/{channel}/request-confirmation",
    response=responses({200: LinkOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def request_confirmation(request, code: str, channel: ChannelValue, payload: ConfirmationRequestIn):
    """Make a double opt-in link that expires; on email a background task sends it."""
    return ConsentService.request_confirmation(
        actor=actor_of(request), code=code, channel=channel, **payload.model_dump()
    )


@router.post(
    "/customers/{code}/consents/{channel}/unsubscribe-link",
    response=responses({200: LinkOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def unsubscribe_link(request, code: str, channel: ChannelValue):
    """A signed link that opts the customer out of this channel, for a campaign's messages."""
    return ConsentService.unsubscribe_link(
        tenant=actor_of(request).tenant, code=code, channel=channel
    )


@router.post(
    "/consent/confirm", response=responses({200: PublicConsentOut}, 404, *WRITE_ERRORS), auth=None
)
def confirm_consent(request, payload: TokenIn):
    """Public: opt in with a double opt-in token the customer received."""
    return ConsentService.confirm(
        token=payload.token,
        ip_address=request_ip(request),
        user_agent=request_user_agent(request),
    )


@router.post(
    "/consent/unsubscribe",
    response=responses({200: PublicConsentOut}, 404, *WRITE_ERRORS),
    auth=None,
)
def unsubscribe(request, payload: TokenIn):
    """Public: opt out of the channel an unsubscribe token names."""
    return ConsentService.unsubscribe(
        token=payload.token,
        ip_address=request_ip(request),
        user_agent=request_user_agent(request),
    )


@router.get("/consents/marketable", response=responses({200: CodePage}))
def marketable_customers(request, query: Query[MarketableQuery]):
    """Codes of live customers opted in on `channel`, by code: a campaign's audience."""
    customers = selectors.marketable_customers(
        tenant=actor_of(request).tenant, channel=query.channel
    )
    page = paginate(
        customers.only("pk", "code"),
        ordering=CODE_ORDER,
        parsers=CODE_PARSERS,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": [customer.code for customer in page.items], "next_cursor": page.next_cursor}
