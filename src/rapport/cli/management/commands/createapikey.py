"""`rapport createapikey`: issue an API key and print its secret once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from rapport.exceptions import RapportError
from rapport.tenancy.services import ApiKeyService, TenantService


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (it cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="cli", help="A name to recognise the key by")
        parser.add_argument(
            "--scopes",
            default="read,write",
            help="Comma-separated: read, write, admin (default read,write)",
        )
        parser.add_argument("--tenant", default=None, help="Tenant slug (default: the default)")
        parser.add_argument("--user", default=None, help="Username the key acts for")
        parser.add_argument("--quiet", action="store_true", help="Print only the key")

    def handle(self, *args, name, scopes, tenant, user, quiet, **options):
        try:
            tenant_obj = (
                TenantService.get_by_slug(tenant) if tenant else TenantService.get_default()
            )
            user_obj = None
            if user:
                user_obj = get_user_model().objects.filter(username=user).first()
                if user_obj is None:
                    raise CommandError(f"No user named {user!r}")
            api_key, secret = ApiKeyService.create_key(
                tenant=tenant_obj,
                name=name,
                scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()],
                user=user_obj,
            )
        except RapportError as error:
            detail = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
            raise CommandError(f"{error.message}{' (' + detail + ')' if detail else ''}") from None
        if quiet:
            self.stdout.write(secret)
            return
        self.stdout.write(
            f"API key {api_key.name!r} for tenant {tenant_obj.slug!r}, "
            f"scopes {','.join(api_key.scopes)}:\n\n    {secret}\n\n"
            "Store it now: it is not shown again. Use it as 'Authorization: Bearer <key>'."
        )
