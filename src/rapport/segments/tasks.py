"""Background tasks of segments: the hourly refresh, one task per dynamic segment."""

from django_tasks import task

from rapport.exceptions import RapportError
from rapport.segments.models import Segment, SegmentType
from rapport.segments.services import SegmentService
from rapport.tenancy.actors import Actor


@task()
def refresh_segments() -> dict[str, int]:
    """Enqueue the refresh of every active dynamic segment, so workers share them."""
    rows = list(
        Segment.objects.filter(type=SegmentType.DYNAMIC, is_active=True)
        .order_by("tenant_id", "pk")
        .values_list("tenant_id", "pk")
    )
    for tenant_id, segment_id in rows:
        refresh_segment.enqueue(tenant_id=tenant_id, segment_id=segment_id)
    return {"segments": len(rows)}


@task()
def refresh_segment(*, tenant_id: int, segment_id: int) -> dict[str, int | str]:
    """Bring one segment's memberships up to date; safe to run twice (the second sends nothing)."""
    segment = Segment.objects.filter(pk=segment_id, tenant_id=tenant_id).select_related("tenant")
    segment = segment.first()
    if segment is None:  # deleted since it was enqueued
        return {"entered": 0, "left": 0, "customer_count": 0}
    actor = Actor.for_system(segment.tenant, "segments")
    try:
        result = SegmentService.refresh_memberships(actor=actor, segment=segment)
    except RapportError as error:  # a field whose app was removed: nothing to refresh by
        return {
            "entered": 0,
            "left": 0,
            "customer_count": segment.customer_count,
            "error": error.message,
        }
    return {
        "entered": result.entered,
        "left": result.left,
        "customer_count": result.customer_count,
    }
