"""Idempotency-Key on every API POST, as Stripe defines it.

The first request with a key runs and its response is stored; a retry with the same key and
body gets that response again (header `Idempotent-Replayed: true`) and writes nothing; the
same key with another body is a 422; a retry while the first is still running is a 409.
Keys are scoped to the tenant and kept for 24 hours.
"""

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from rapport.tenancy.models import IdempotencyRecord
from rapport.tenancy.services import ApiKeyService

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
RETENTION = timedelta(hours=24)
# A request still "running" after this long died with its process; its key may be reused.
ABANDONED_AFTER = timedelta(minutes=5)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": {HEADER: message}}}, status=status
    )


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.response_status,
        content_type=record.response_content_type or None,
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(tenant, key: str, fingerprint: str, request: HttpRequest):
    """The stored record for a key, or None once this request has claimed the key."""
    now = timezone.now()
    with transaction.atomic():
        existing = (
            IdempotencyRecord.objects.select_for_update().filter(tenant=tenant, key=key).first()
        )
        if existing is not None:
            expired = existing.created_at < now - RETENTION
            abandoned = (
                existing.status == IdempotencyRecord.Status.IN_PROGRESS
                and existing.created_at < now - ABANDONED_AFTER
            )
            if not (expired or abandoned):
                return existing
            existing.delete()
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    tenant=tenant,
                    key=key,
                    fingerprint=fingerprint,
                    method=request.method,
                    path=request.path[:500],
                )
        except IntegrityError:  # another request claimed it between our read and write
            return IdempotencyRecord.objects.get(tenant=tenant, key=key)
    return None


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key.strip() or len(key) > KEY_MAX_LENGTH:
            return _error(400, "bad_request", f"{HEADER} must be 1 to {KEY_MAX_LENGTH} characters")
        authorization = request.headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        api_key = ApiKeyService.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if api_key is None:  # the API answers 401 itself
            return self.get_response(request)
        request.rapport_api_key = api_key

        digest = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode()]))
        if request.content_type == "multipart/form-data":
            # An upload may be larger than a body is allowed to be in memory: hash it in parts.
            for name, value in sorted(request.POST.items()):
                digest.update(b"\n" + name.encode() + b"=" + value.encode())
            for name, upload in sorted(request.FILES.items()):
                digest.update(b"\n" + name.encode() + b"=")
                for chunk in upload.chunks():
                    digest.update(chunk)
        else:
            digest.update(b"\n" + request.body)
        fingerprint = digest.hexdigest()
        record = _claim(api_key.tenant, key, fingerprint, request)
        if record is not None:
            if record.fingerprint != fingerprint:
                return _error(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was used with a different request",
                )
            if record.status == IdempotencyRecord.Status.IN_PROGRESS:
                return _error(
                    409, "idempotency_key_in_use", f"A request with this {HEADER} is still running"
                )
            return _replay(record)

        response = self.get_response(request)
        if response.status_code >= 500 or getattr(response, "streaming", False):
            # Not a result to replay: free the key so a retry runs again.
            IdempotencyRecord.objects.filter(tenant=api_key.tenant, key=key).delete()
            return response
        IdempotencyRecord.objects.filter(tenant=api_key.tenant, key=key).update(
            status=IdempotencyRecord.Status.COMPLETED,
            response_status=response.status_code,
            response_body=response.content,
            response_content_type=response.get("Content-Type", ""),
            completed_at=timezone.now(),
        )
        return response
