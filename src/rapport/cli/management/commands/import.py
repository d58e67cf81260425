"""`rapport import customers|orders FILE.csv`: a CSV file into rapport, with a progress bar."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rapport.cli.shared import add_tenant_argument, command_error, require_app, system_actor
from rapport.exceptions import RapportError

KINDS = ("customers", "orders")
ERRORS_SHOWN = 20


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Import customers or orders from a CSV file (UTF-8; comma, semicolon or tab; a header "
        "row). Columns are matched to fields by name; --map field=Column changes that. Rows "
        "with errors are skipped and listed with their row numbers; the others are imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS, help="What the file holds")
        parser.add_argument("file", metavar="FILE", help="The CSV file")
        parser.add_argument(
            "--map",
            dest="mapping",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="Read FIELD from COLUMN (repeatable); FIELD= leaves a field out",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check and count everything a real run would do, and write nothing",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=None, help="Rows per transaction (default 5000)"
        )
        parser.add_argument(
            "--show-errors",
            type=int,
            default=ERRORS_SHOWN,
            metavar="N",
            help=f"List the first N row errors (default {ERRORS_SHOWN}; 0 for none)",
        )
        add_tenant_argument(parser)

    def handle(self, *args, kind, file, mapping, dry_run, chunk_size, show_errors, tenant, **opts):
        require_app("ingest")
        from rapport.ingest.csv.jobs import import_file
        from rapport.ingest.csv.mapping import parse_overrides

        if chunk_size is not None and chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file!r}")
        actor = system_actor(tenant)
        try:
            overrides = parse_overrides(mapping)
            with path.open("rb") as handle:
                report = self._import(
                    import_file,
                    actor=actor,
                    kind=kind,
                    file=handle,
                    overrides=overrides,
                    dry_run=dry_run,
                    chunk_rows=chunk_size,
                )
        except RapportError as error:
            raise command_error(error) from None
        except OSError as error:
            raise CommandError(f"Cannot read {file!r}: {error.strerror}") from None
        self._report(report, kind, path, show_errors)

    def _import(self, import_file, **arguments):
        if not sys.stderr.isatty():
            return import_file(**arguments)
        progress = Progress(
            TextColumn(f"[bold]importing {arguments['kind']}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        with progress:
            task = progress.add_task("rows", total=None, rate="")

            def start(total: int) -> None:
                progress.update(task, total=total)

            def advance(report) -> None:
                progress.update(task, completed=report.processed_rows)
                elapsed = progress.tasks[task].elapsed or 0
                if elapsed:
                    progress.update(task, rate=f"{report.processed_rows / elapsed:,.0f} rows/s")

            return import_file(**arguments, on_start=start, on_chunk=advance)

    def _report(self, report, kind: str, path: Path, show_errors: int) -> None:
        would = "would be " if report.dry_run else ""
        records = "customers" if kind == "customers" else "orders"
        lines = [
            f"{'Dry run of' if report.dry_run else 'Imported'} {path.name}: "
            f"{_plural(report.processed_rows, 'row')} read.",
            f"{records.capitalize()} {would}created: {report.created:,}, "
            f"{would}updated: {report.updated:,}, unchanged: {report.unchanged:,}.",
        ]
        if report.ignored_columns:
            lines.append("Columns not imported: " + ", ".join(report.ignored_columns) + ".")
        if report.error_rows:
            lines.append(
                f"{_plural(report.error_rows, 'row')} "
                f"{'would not be' if report.dry_run else 'not'} imported because of errors"
                + (":" if show_errors else ".")
            )
            for error in report.errors[:show_errors]:
                where = f"row {error.row}" + (f", {error.field}" if error.field else "")
                lines.append(f"  {where}: {error.message}")
            if 0 < show_errors < len(report.errors):
                lines.append("  … and more (--show-errors N lists up to the first 1,000)")
        if report.dry_run:
            lines.append("Nothing was written: run again without --dry-run to import.")
        for line in lines:
            self.stdout.write(line)
