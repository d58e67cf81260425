"""The jobs app's own periodic task: keeping the task tables small."""

from django_tasks import task

from rapport.jobs import services


@task()
def prune_finished() -> dict:
    """Delete finished task results and scheduled runs older than RAPPORT_JOBS_KEEP_DAYS."""
    pruned = services.prune_finished()
    return {"task_results": pruned.task_results, "scheduled_runs": pruned.scheduled_runs}
