"""Public pages a customer reaches from a link: unsubscribe from a channel, confirm an opt-in.

A GET only shows a button (mail scanners follow links); the POST changes consent. An
unsubscribe POST with the body `List-Unsubscribe=One-Click` is RFC 8058's one-click
unsubscribe, sent by mail providers without showing the page.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rapport.consent import conf, tokens
from rapport.consent.services import CHANNEL_NAMES, USER_AGENT_LIMIT, ConsentService
from rapport.exceptions import RapportError

TEMPLATE = "rapport_consent/link.html"


def _client(request: HttpRequest) -> dict:
    return {
        "ip_address": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.headers.get("User-Agent", "")[:USER_AGENT_LIMIT],
    }


def _page(request: HttpRequest, status: int = 200, **context) -> HttpResponse:
    return render(request, TEMPLATE, context, status=status)


def _failed(request: HttpRequest, error: RapportError) -> HttpResponse:
    return _page(request, error.status, heading="This link does not work", message=error.message)


# Signed tokens are the credential and no session is involved, so there is no CSRF to guard.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Show the unsubscribe button (GET); opt out of the link's channel (POST)."""
    try:
        claim = tokens.read(token, salt=tokens.UNSUBSCRIBE_SALT)
        channel = CHANNEL_NAMES.get(claim.channel, claim.channel)
        if request.method == "GET":
            return _page(
                request,
                heading=f"Stop {channel} messages?",
                message=f"You will no longer receive marketing by {channel}.",
                button="Unsubscribe",
            )
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        ConsentService.unsubscribe(token=token, one_click=one_click, **_client(request))
    except RapportError as error:
        return _failed(request, error)
    return _page(
        request,
        heading="You are unsubscribed",
        message=f"You will no longer receive marketing by {channel}.",
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Show the confirmation button (GET); opt in on the link's channel (POST)."""
    try:
        claim = tokens.read(
            token, salt=tokens.CONFIRMATION_SALT, max_age=conf.confirmation_max_age()
        )
        channel = CHANNEL_NAMES.get(claim.channel, claim.channel)
        if request.method == "GET":
            return _page(
                request,
                heading=f"Confirm {channel} messages",
                message=f"Press the button to receive news and offers by {channel}.",
                button="Confirm",
            )
        ConsentService.confirm(token=token, **_client(request))
    except RapportError as error:
        return _failed(request, error)
    return _page(
        request,
        heading="Thank you",
        message=f"You will receive news and offers by {channel}. Every message says how to stop.",
    )
