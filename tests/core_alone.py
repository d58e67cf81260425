"""Settings and a script for tests/test_core_alone.py: rapport with none of its optional apps.

Segments stays: it needs only the core, and shows the core's own segment fields at work."""

from rapport.settings import *  # noqa: F403
from rapport.settings import INSTALLED_APPS

OPTIONAL_APPS = {
    "rapport.identity",
    "rapport.consent",
    "rapport.preferences",
    "rapport.privacy",
    "rapport.loyalty",
    "rapport.commerce",
    "rapport.pets",
    "rapport.ingest",
    "rapport.insights",
}
INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in OPTIONAL_APPS]


def main() -> None:
    """Migrate, then create and read a customer through the API; print what came back."""
    import json

    import django
    from django.core.management import call_command
    from django.test import Client

    django.setup()
    call_command("migrate", verbosity=0)
    from rapport.tenancy.models import Tenant
    from rapport.tenancy.services import ApiKeyService

    _, secret = ApiKeyService.create_key(
        tenant=Tenant.objects.get(slug="default"), name="core", scopes=["write"]
    )
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    created = client.post(
        "/api/v1/customers", {"phone": "0803 123 4567"}, content_type="application/json"
    )
    code = created.json()["code"]
    statuses = {
        "create": created.status_code,
        "detail": client.get(f"/api/v1/customers/{code}").status_code,
        "timeline": client.get(f"/api/v1/customers/{code}/timeline").status_code,
        "consents": client.get(f"/api/v1/customers/{code}/consents").status_code,
        "unsubscribe page": Client().get("/unsubscribe/some-token").status_code,
    }
    segments = client.get("/api/v1/segments").json()["items"]
    statuses["segment preview"] = client.post(
        "/api/v1/segments/preview",
        {"conditions": {"field": "days_since_joined", "operator": "lte", "value": 1}},
        content_type="application/json",
    ).status_code
    paths = list(client.get("/api/openapi.json").json()["paths"])
    defaults = [segment["key"] for segment in segments]
    print(json.dumps({"statuses": statuses, "paths": paths, "segments": defaults}))


if __name__ == "__main__":
    main()
