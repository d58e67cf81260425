"""What the jobs tests share: a task result stored in the database queue, whatever the backend."""

from django_tasks_db import DatabaseBackend

from rapport.loyalty.tasks import expire_tenant_points

DATABASE = "django_tasks_db.DatabaseBackend"


def stored_result(tenant) -> str:
    """The id of a task of `tenant` waiting in the database queue (the API can show it)."""
    backend = DatabaseBackend(alias="default", params={"QUEUES": ["default"]})
    return str(backend.enqueue(expire_tenant_points, (), {"tenant_id": tenant.pk}).id)
