"""Background tasks of loyalty: the daily points expiry, one task per tenant."""

from django_tasks import task

from rapport.loyalty.models import LoyaltyProgram
from rapport.loyalty.services.expiry import expire_points as expire_tenant
from rapport.tenancy.models import Tenant


@task()
def expire_points() -> dict[str, int]:
    """Enqueue the expiry of every tenant whose points expire, so workers share the tenants."""
    tenant_ids = list(
        LoyaltyProgram.objects.filter(points_expire_after_days__gt=0)
        .order_by("tenant_id")
        .values_list("tenant_id", flat=True)
    )
    for tenant_id in tenant_ids:
        expire_tenant_points.enqueue(tenant_id=tenant_id)
    return {"tenants": len(tenant_ids)}


@task()
def expire_tenant_points(*, tenant_id: int) -> dict[str, int | str]:
    """Write off the tenant's points that expired by now; safe to run twice."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:  # deleted since it was enqueued
        return {"accounts": 0, "points": 0}
    run = expire_tenant(tenant=tenant)
    return {"accounts": run.accounts, "points": run.points, "at": run.at.isoformat()}
