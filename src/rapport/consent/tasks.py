"""Background tasks of consent: mailing double opt-in links."""

from django_tasks import task

from rapport.consent.services import ConsentService
from rapport.tenancy.models import Tenant


@task()
def send_confirmation_email(*, tenant_id: int, code: str, token: str) -> str:
    """Mail the customer their double opt-in link; the address it went to ("" if none now)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return ""
    return ConsentService.send_confirmation_email(tenant=tenant, code=code, token=token)
