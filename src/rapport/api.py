"""The one NinjaAPI: authentication, the error format, and every app's router."""

from decimal import Decimal
from importlib import import_module

import orjson
from django.apps import apps
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import BaseRenderer

from rapport import __version__
from rapport.customers.api import router as customers_router
from rapport.events.api import router as events_router
from rapport.exceptions import RapportError
from rapport.jobs.api import router as jobs_router
from rapport.tenancy.api import READ
from rapport.tenancy.api import router as tenancy_router
from rapport.timeline.api import router as timeline_router

DESCRIPTION = """
rapport's REST API. Authenticate with `Authorization: Bearer <api key>` (create one with
`rapport createapikey`). Every list is paginated with `limit` and an opaque `cursor`; every
POST accepts an `Idempotency-Key` header; every error has the body
`{"error": {"code", "message", "fields"}}`.
"""

HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "rate_limited",
}


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return orjson.dumps(data, option=orjson.OPT_PASSTHROUGH_DATACLASS, default=_default)


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class RapportAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        """The view's own name (`list_customers`), short and stable for generated clients."""
        return operation.view_func.__name__

    def get_openapi_schema(self, *args, **kwargs):
        """The generated schema, with the Idempotency-Key header documented on every POST."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            post = operations.get("post")
            if post is not None:
                post.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 255,
                            "pattern": r"\S",
                        },
                        "description": "Send the same key to retry safely: the first response "
                        "is replayed and nothing is written twice.",
                    }
                )
        return schema

    def _get_urls(self):
        """Ninja's URL patterns, made so apps can share a path (django-ninja issue 1546).

        Each router gets its own view per path, so GET /orders (commerce) would answer 405 to
        POST /orders (ingest): one route's views are tried in turn until one allows the
        method. Literal segments match before parameters (/orders/bulk, /orders/{order_id}).
        """
        from django.urls import URLPattern

        patterns = super()._get_urls()
        views: dict[str, list] = {}
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                views.setdefault(str(pattern.pattern), []).append(pattern.callback)

        def first_allowing(candidates):
            def view(request, *args, **kwargs):
                for candidate in candidates:
                    response = candidate(request, *args, **kwargs)
                    if response.status_code != 405:
                        break
                return response

            view.csrf_exempt = True
            return view

        for pattern in patterns:
            shared = views.get(str(pattern.pattern), []) if isinstance(pattern, URLPattern) else []
            if len(shared) > 1:
                pattern.callback = first_allowing(shared)
        return sorted(
            patterns, key=lambda p: tuple("<" in part for part in str(p.pattern).split("/"))
        )


api = RapportAPI(
    title="rapport",
    version=__version__,
    description=DESCRIPTION.strip(),
    auth=READ,
    renderer=ORJSONRenderer(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, fields: dict | None = None
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return api.create_response(request, body, status=status)


@api.exception_handler(RapportError)
def rapport_error(request, error: RapportError):
    return error_response(request, error.status, error.code, error.message, error.fields)


def _field_name(location: tuple) -> str:
    # ('body', 'payload', 'phone') -> 'phone'; ('query', 'limit') -> 'limit'
    parts = [str(part) for part in location[1:]]
    if location and location[0] == "body" and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or str(location[0])


@api.exception_handler(ValidationError)
def validation_error(request, error: ValidationError):
    fields = {}
    for item in error.errors:
        fields.setdefault(_field_name(tuple(item.get("loc", ()))), item.get("msg", "Invalid"))
    return error_response(request, 422, "invalid", "The request is not valid", fields)


@api.exception_handler(AuthenticationError)
def authentication_error(request, error: AuthenticationError):
    return error_response(
        request, 401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'"
    )


@api.exception_handler(HttpError)
def http_error(request, error: HttpError):
    code = HTTP_ERROR_CODES.get(error.status_code, "error")
    return error_response(request, error.status_code, code, str(error))


@api.exception_handler(Http404)
def not_found(request, error: Http404):
    return error_response(request, 404, "not_found", "Not found")


# The core's routers, then each optional app's when it is installed.
api.add_router("/v1/", customers_router)
OPTIONAL_APPS = (
    "identity",
    "consent",
    "preferences",
    "privacy",
    "loyalty",
    "commerce",
    "pets",
    "insights",
    "ingest",
    "segments",
)
for app in OPTIONAL_APPS:
    if apps.is_installed(f"rapport.{app}"):
        api.add_router("/v1/", import_module(f"rapport.{app}.api").router)
api.add_router("/v1/", timeline_router)
api.add_router("/v1/", events_router)
api.add_router("/v1/", jobs_router)
api.add_router("/v1/", tenancy_router)
