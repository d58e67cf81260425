"""Running an import: from a file on disk (the CLI) or as a job over an uploaded file (the API)."""

import io
import uuid
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from django.apps import apps
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.exceptions import InvalidInput, NotFound, RapportError
from rapport.ingest.csv import conf, engine, mapping
from rapport.ingest.csv.customers import CustomersImporter
from rapport.ingest.csv.engine import Importer, ImportReport
from rapport.ingest.csv.reading import CsvFile
from rapport.ingest.models import ImportJob
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

KINDS = ("customers", "orders")
FILENAME_LIMIT = 255


class FileTooLarge(RapportError):
    """The upload is larger than the import accepts."""

    code = "file_too_large"
    status = 413


def importer_class(kind: str) -> type[Importer]:
    """The importer of `kind`; InvalidInput for an unknown kind or one whose app is missing."""
    if kind == "customers":
        return CustomersImporter
    if kind == "orders":
        if not apps.is_installed("rapport.commerce"):
            raise InvalidInput(
                "Orders cannot be imported: the commerce app is not installed",
                fields={"kind": "Add rapport.commerce to INSTALLED_APPS to import orders"},
            )
        from rapport.ingest.csv.orders import OrdersImporter

        return OrdersImporter
    raise InvalidInput("Unknown kind of import", fields={"kind": f"Use one of {', '.join(KINDS)}"})


def open_import(
    *,
    actor: Actor,
    kind: str,
    file: BinaryIO,
    overrides: Mapping[str, str] | None = None,
    defaults: bool = True,
) -> tuple[CsvFile, Importer]:
    """The file read up to its header and the importer with its columns mapped.

    Raises InvalidInput (BadFile for the file itself) before any data row is read.
    """
    cls = importer_class(kind)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidInput("The mapping is not valid", fields={"mapping": "A JSON object"})
    csv_file = CsvFile(file)
    columns = mapping.resolve(
        cls.available_fields(),
        csv_file.header,
        overrides,
        unavailable=cls.unavailable_fields(),
        defaults=defaults,
    )
    cls.check_columns(columns)
    return csv_file, cls(actor, columns)


def import_file(
    *,
    actor: Actor,
    kind: str,
    file: BinaryIO,
    overrides: Mapping[str, str] | None = None,
    dry_run: bool = False,
    chunk_rows: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_chunk: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a whole CSV file now; `on_start` gets its row count, `on_chunk` the progress."""
    csv_file, importer = open_import(actor=actor, kind=kind, file=file, overrides=overrides)
    total = csv_file.count_rows()
    if on_start is not None:
        on_start(total)
    return engine.run(
        importer,
        csv_file,
        dry_run=dry_run,
        chunk_rows=chunk_rows or conf.chunk_rows(),
        total_rows=total,
        on_chunk=on_chunk,
    )


def binary(file: Any) -> BinaryIO:
    """The plain binary file inside Django's File and upload wrappers."""
    while not isinstance(file, io.IOBase) and getattr(file, "file", None) is not None:
        file = file.file
    return file


def _actor_of(job: ImportJob) -> Actor:
    """Who the job acts as: the key that uploaded it while it exists, else the import itself."""
    if job.api_key is not None:
        return Actor.for_api_key(job.api_key)
    return Actor.for_system(job.tenant, "import")


def _record(job: ImportJob, report: ImportReport) -> None:
    job.total_rows = report.total_rows
    job.processed_rows = report.processed_rows
    job.created_count = report.created
    job.updated_count = report.updated
    job.unchanged_count = report.unchanged
    job.error_count = report.error_rows
    job.errors = [error.as_dict() for error in report.errors]


PROGRESS_FIELDS = [
    "total_rows",
    "processed_rows",
    "created_count",
    "updated_count",
    "unchanged_count",
    "error_count",
    "errors",
]


class ImportService:
    """CSV import jobs: an uploaded file, checked at once, imported by a background task."""

    @staticmethod
    def create_job(
        *,
        actor: Actor,
        kind: str,
        upload: UploadedFile,
        mapping: Mapping[str, Any] | None = None,
        dry_run: bool = False,
    ) -> ImportJob:
        """Check the file's header and mapping, keep the file, and queue its import."""
        limit = conf.max_upload_bytes()
        if upload.size is not None and upload.size > limit:
            raise FileTooLarge(
                f"The file is larger than the {limit // (1024 * 1024)} MB an import accepts",
                fields={"file": f"At most {limit:,} bytes (RAPPORT_IMPORT_MAX_MB)"},
            )
        upload.seek(0)
        _, importer = open_import(actor=actor, kind=kind, file=binary(upload), overrides=mapping)
        filename = (upload.name or "").replace("\x00", "")[:FILENAME_LIMIT]
        job = ImportJob(
            tenant=actor.tenant,
            kind=kind,
            dry_run=dry_run,
            filename=filename,
            mapping=importer.columns.names(),
            created_by=actor.label[:150],
            api_key=actor.api_key,
        )
        upload.seek(0)
        job.file.save(f"{uuid.uuid4()}.csv", upload, save=False)
        with transaction.atomic():
            job.save()
            transaction.on_commit(lambda: _enqueue(job.pk))
        return job

    @staticmethod
    def run_job(*, job_id: int) -> ImportJob | None:
        """Import a pending job's file; a job already started or finished is left alone."""
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
            status=ImportJob.Status.RUNNING, started_at=timezone.now()
        )
        job = ImportJob.objects.select_related("tenant", "api_key").filter(pk=job_id).first()
        if not claimed or job is None:
            return job
        finished = False
        try:
            _run(job)
            finished = True
        except RapportError as error:
            job.status = ImportJob.Status.FAILED
            job.message = error.message + "".join(
                f"; {name}: {problem}" for name, problem in error.fields.items()
            )
            finished = True
        finally:
            if not finished:
                job.status = ImportJob.Status.FAILED
                job.message = "The import stopped on an unexpected error; see the server log"
            job.finished_at = timezone.now()
            job.file.delete(save=False)  # the people in it stay only where they were imported
            job.save()
        return job

    @staticmethod
    def list_jobs(*, tenant: Tenant) -> QuerySet[ImportJob]:
        """The tenant's import jobs, newest first."""
        return ImportJob.objects.filter(tenant=tenant)

    @staticmethod
    def get_job(*, tenant: Tenant, job_id: uuid.UUID | str) -> ImportJob:
        """One of the tenant's import jobs; NotFound otherwise."""
        job = ImportJob.objects.filter(tenant=tenant, uuid=job_id).first()
        if job is None:
            raise NotFound("No import with that id")
        return job


def _enqueue(job_pk: int) -> None:
    from rapport.ingest.tasks import run_import

    run_import.enqueue(job_pk)


def _run(job: ImportJob) -> None:
    actor = _actor_of(job)
    with job.file.open("rb") as stored:
        csv_file, importer = open_import(
            actor=actor, kind=job.kind, file=binary(stored), overrides=job.mapping, defaults=False
        )
        total = csv_file.count_rows()
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)

        def progress(report: ImportReport) -> None:
            if job.dry_run:
                return  # inside the transaction that is rolled back: the counts come at the end
            _record(job, report)
            ImportJob.objects.filter(pk=job.pk).update(
                **{name: getattr(job, name) for name in PROGRESS_FIELDS}
            )

        report = engine.run(
            importer,
            csv_file,
            dry_run=job.dry_run,
            chunk_rows=conf.chunk_rows(),
            total_rows=total,
            on_chunk=progress,
        )
    _record(job, report)
    job.status = ImportJob.Status.COMPLETED
