"""`rapport export-customers FILE.csv`: the tenant's customers as CSV, with a progress bar."""

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rapport.cli.shared import add_tenant_argument, command_error, require_app, system_actor
from rapport.exceptions import RapportError


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since {text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Write the tenant's customers to a CSV file: code, names, email, phone, birthday, "
        "tags, created_at, and consent per channel and loyalty points and tier when those "
        "apps are installed. The file reads back with `rapport import customers`."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="The CSV file to write; - for stdout")
        parser.add_argument("--tag", default=None, help="Only customers with this tag")
        parser.add_argument(
            "--since", default=None, help="Only customers created at or after this date or time"
        )
        parser.add_argument(
            "--include-archived", action="store_true", help="Archived customers too"
        )
        add_tenant_argument(parser)

    def handle(self, *args, file, tag, since, include_archived, tenant, **options):
        require_app("ingest")
        from rapport.ingest.csv.exports import ExportFilters, customers_to_export, export_lines

        actor = system_actor(tenant)
        filters = ExportFilters(tag=tag, since=_since(since), include_archived=include_archived)
        if file != "-" and (not file.strip() or Path(file).is_dir()):
            raise CommandError(f"Cannot write the export to {file!r}: give a file name")
        try:
            total = customers_to_export(tenant=actor.tenant, filters=filters).count()
            lines = export_lines(tenant=actor.tenant, filters=filters)
            if file == "-":
                for line in lines:
                    self.stdout.write(line, ending="")
                return
            self._write(Path(file), lines, total)
        except RapportError as error:
            raise command_error(error) from None
        except OSError as error:
            raise CommandError(f"Cannot write the export to {file!r}: {error.strerror}") from None
        self.stdout.write(f"Exported {total:,} customer{'s' if total != 1 else ''} to {file}")

    def _write(self, path: Path, lines, total: int) -> None:
        """Write the file readable by its owner only, whole or not at all."""
        directory = path.parent if str(path.parent) else Path(".")
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        progress = Progress(
            TextColumn("[bold]exporting customers"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not sys.stderr.isatty(),
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as output, progress:
                task = progress.add_task("customers", total=total)
                for number, line in enumerate(lines):
                    output.write(line)
                    if number and number % 1000 == 0:
                        progress.update(task, completed=number)
                progress.update(task, completed=total)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
