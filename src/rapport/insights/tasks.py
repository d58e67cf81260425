"""Background tasks of insights: the nightly recalculation, a task per tenant and per chunk."""

from django_tasks import task

from rapport.insights import recalculation
from rapport.insights.models import InsightRun, RunStatus
from rapport.insights.services import InsightService
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant


@task()
def recalculate_insights() -> dict[str, int]:
    """Enqueue every tenant's recalculation, so that workers share the tenants."""
    tenant_ids = list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        recalculate_tenant_insights.enqueue(tenant_id=tenant_id)
    return {"tenants": len(tenant_ids)}


@task()
def recalculate_tenant_insights(*, tenant_id: int) -> dict[str, int | str]:
    """Fit the tenant's models and enqueue its chunks; the run says how far they got."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:  # deleted since it was enqueued
        return {"chunks": 0}
    run = InsightService.recalculate_all(
        actor=Actor.for_system(tenant, "insights"), background=True
    )
    return {"run": str(run.uuid), "chunks": run.chunks_total}


@task()
def recalculate_chunk(*, run_id: int, first: int, last: int, size: int) -> dict[str, int]:
    """Work out one chunk of a run's customers; safe to run twice."""
    run = InsightRun.objects.select_related("tenant").filter(pk=run_id).first()
    if run is None or run.status == RunStatus.FAILED:
        return {"customers": 0}
    try:
        written = recalculation.recalculate_chunk(run, recalculation.Chunk(first, last, size))
    except Exception as error:
        recalculation.fail_run(run, f"{type(error).__name__}: {error}")
        raise
    return {"customers": written}
