"""Authentication by API key, and the tenant's own settings and keys."""

import datetime as dt
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer
from pydantic import Field

from rapport.exceptions import InvalidInput
from rapport.schemas import WRITE_ERRORS, InputSchema, responses
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import ApiKey, Scope
from rapport.tenancy.services import ApiKeyService, TenantService


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`; the key's tenant scopes everything the request touches."""

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = getattr(request, "rapport_api_key", None) or ApiKeyService.authenticate(token)
        if api_key is None:
            return None
        if not api_key.has_scope(self.scope):
            raise AuthorizationError(message=f"This API key lacks the {self.scope.value} scope")
        request.rapport_api_key = api_key
        request.actor = Actor.for_api_key(api_key)
        return api_key


READ = ApiKeyAuth(Scope.READ)
WRITE = ApiKeyAuth(Scope.WRITE)
ADMIN = ApiKeyAuth(Scope.ADMIN)


def actor_of(request: HttpRequest) -> Actor:
    """The actor behind an authenticated request."""
    return request.actor


router = Router(tags=["tenant"], auth=READ)


class TenantOut(Schema):
    name: str
    slug: str
    country: str
    currency: str
    timezone: str
    default_language: str
    default_phone_region: str


class TenantPatch(InputSchema):
    """Only the settings sent change. The slug is fixed."""

    name: str | None = Field(None, min_length=1, max_length=200)
    country: str | None = Field(None, min_length=2, max_length=2, examples=["NG"])
    currency: str | None = Field(None, min_length=3, max_length=3, examples=["NGN"])
    timezone: str | None = Field(None, max_length=64, examples=["Africa/Lagos"])
    default_language: str | None = Field(None, max_length=10, examples=["en"])
    default_phone_region: str | None = Field(None, min_length=2, max_length=2, examples=["NG"])


class ApiKeyOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The secret. Shown once: store it now")


class ApiKeyIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


@router.get("/tenant", response=responses({200: TenantOut}))
def get_tenant(request):
    """The tenant this API key belongs to, with its currency, time zone and phone region."""
    return actor_of(request).tenant


@router.patch("/tenant", response=responses({200: TenantOut}, 400), auth=ADMIN)
def update_tenant(request, payload: TenantPatch):
    """Change the tenant's name, country, currency, time zone, language or phone region."""
    changes = payload.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise InvalidInput(
            "Tenant settings cannot be cleared",
            fields={name: "Cannot be null" for name, value in changes.items() if value is None},
        )
    return TenantService.update_tenant(tenant=actor_of(request).tenant, **changes)


@router.get("/api-keys", response=responses({200: list[ApiKeyOut]}), auth=ADMIN)
def list_api_keys(request):
    """Every API key of the tenant, revoked ones included; secrets are never shown."""
    return list(ApiKeyService.list_keys(tenant=actor_of(request).tenant))


@router.post("/api-keys", response=responses({201: ApiKeyCreatedOut}, *WRITE_ERRORS), auth=ADMIN)
def create_api_key(request, payload: ApiKeyIn):
    """Issue a key. The response holds the secret, which cannot be shown again."""
    api_key, secret = ApiKeyService.create_key(
        tenant=actor_of(request).tenant,
        name=payload.name,
        scopes=[scope.value for scope in payload.scopes],
    )
    api_key.key = secret
    return Status(201, api_key)


@router.post(
    "/api-keys/{key_id}/revoke",
    response=responses({200: ApiKeyOut}, 404, *WRITE_ERRORS),
    auth=ADMIN,
)
def revoke_api_key(request, key_id: UUID):
    """Revoke a key at once; requests with it get 401 from then on."""
    return ApiKeyService.revoke_key(tenant=actor_of(request).tenant, key_uuid=key_id)
