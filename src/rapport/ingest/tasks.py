"""Background tasks of the ingest door: running an uploaded CSV import."""

from django_tasks import task

from rapport.ingest.csv.jobs import ImportService


@task()
def run_import(job_id: int) -> None:
    """Import the job's file; safe to run twice (a job already started is left alone)."""
    ImportService.run_job(job_id=job_id)
