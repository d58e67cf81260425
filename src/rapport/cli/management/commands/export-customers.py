"""`rapport export-customers FILE.csv`: the tenant's customers as CSV, with a progress bar."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from rapport.cli.shared import (
    add_tenant_argument,
    command_error,
    moment_option,
    require_app,
    system_actor,
    write_lines,
)
from rapport.exceptions import RapportError


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
        filters = ExportFilters(
            tag=tag, since=moment_option("--since", since), include_archived=include_archived
        )
        if file != "-" and (not file.strip() or Path(file).is_dir()):
            raise CommandError(f"Cannot write the export to {file!r}: give a file name")
        try:
            total = customers_to_export(tenant=actor.tenant, filters=filters).count()
            lines = export_lines(tenant=actor.tenant, filters=filters)
            if file == "-":
                for line in lines:
                    self.stdout.write(line, ending="")
                return
            write_lines(Path(file), lines, total, "exporting customers")
        except RapportError as error:
            raise command_error(error) from None
        except OSError as error:
            raise CommandError(f"Cannot write the export to {file!r}: {error.strerror}") from None
        self.stdout.write(f"Exported {total:,} customer{'s' if total != 1 else ''} to {file}")
