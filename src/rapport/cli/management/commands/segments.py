"""`rapport segments`: the tenant's segments with their counts; refresh them; export one as CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from rapport.cli.shared import (
    add_tenant_argument,
    aligned,
    command_error,
    progress_bar,
    require_app,
    system_actor,
    write_lines,
)
from rapport.exceptions import RapportError

SUMMARY_WIDTH = 60


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Command(BaseCommand):
    help = (
        "List the tenant's segments with their member counts (as of each one's last refresh). "
        "--refresh brings every active dynamic segment up to date first, sending "
        "customer.segment_changed for each customer who entered or left. "
        "`rapport segments export NAME FILE.csv` writes a segment's customers as CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action", nargs="?", default="list", choices=("list", "export"), help="list or export"
        )
        parser.add_argument("segment", nargs="?", help="export: the segment's key or name")
        parser.add_argument("file", nargs="?", help="export: the CSV file to write; - for stdout")
        parser.add_argument(
            "--refresh", action="store_true", help="Refresh the active dynamic segments first"
        )
        add_tenant_argument(parser)

    def handle(self, *args, action, segment, file, refresh, tenant, **options):
        require_app("segments")
        actor = system_actor(tenant)
        try:
            if action == "export":
                self._export(actor, segment, file)
                return
            if segment or file:
                raise CommandError(
                    "Give a segment and a file only to export: rapport segments "
                    "export NAME FILE.csv"
                )
            if refresh:
                self._refresh(actor)
            self._list(actor)
        except RapportError as error:
            raise command_error(error) from None

    def _refresh(self, actor) -> None:
        from rapport.segments.models import SegmentType
        from rapport.segments.services import SegmentService

        segments = list(
            SegmentService.list_segments(
                tenant=actor.tenant, type=SegmentType.DYNAMIC, is_active=True
            )
        )
        entered = left = failed = 0
        with progress_bar("refreshing segments") as progress:
            task = progress.add_task("segments", total=len(segments))
            for segment in segments:
                try:
                    result = SegmentService.refresh_memberships(actor=actor, segment=segment)
                except RapportError as error:
                    failed += 1
                    self.stderr.write(f"{segment.name}: {error.message}", style_func=str)
                else:
                    entered, left = entered + result.entered, left + result.left
                progress.advance(task)
        done = len(segments) - failed
        self.stdout.write(
            f"Refreshed {done} segment{'s' if done != 1 else ''}: "
            f"{entered:,} entered, {left:,} left.\n"
        )

    def _list(self, actor) -> None:
        from rapport.segments import conditions as language
        from rapport.segments.services import SegmentService

        segments = SegmentService.list_segments(tenant=actor.tenant)
        rows = [
            (
                segment.name,
                segment.key,
                segment.type,
                f"{segment.customer_count:,}",
                segment.counted_at.strftime("%Y-%m-%d %H:%M") if segment.counted_at else "never",
                "yes" if segment.is_active else "no",
                _cut(
                    "chosen by hand"
                    if segment.type == "manual"
                    else language.describe(segment.conditions),
                    SUMMARY_WIDTH,
                ),
            )
            for segment in segments
        ]
        if not rows:
            self.stdout.write("No segments.")
            return
        header = ("name", "key", "type", "members", "counted", "active", "conditions")
        for line in aligned([header, *rows]):
            self.stdout.write(line)

    def _export(self, actor, name: str | None, file: str | None) -> None:
        if not name or not file:
            raise CommandError("Usage: rapport segments export NAME FILE.csv")
        require_app("ingest")
        from rapport.ingest.csv.exports import ExportFilters, export_lines
        from rapport.segments.services import SegmentService

        segment = SegmentService.find_segment(tenant=actor.tenant, name=name)
        if file != "-" and (not file.strip() or Path(file).is_dir()):
            raise CommandError(f"Cannot write the export to {file!r}: give a file name")
        total = SegmentService.count(segment=segment)
        lines = export_lines(
            tenant=actor.tenant,
            filters=ExportFilters(),
            customers=SegmentService.get_segment_customers(segment=segment),
            with_insights=True,
        )
        if file == "-":
            for line in lines:
                self.stdout.write(line, ending="")
            return
        try:
            write_lines(Path(file), lines, total, f"exporting {segment.key}")
        except OSError as error:
            raise CommandError(f"Cannot write the export to {file!r}: {error.strerror}") from None
        self.stdout.write(
            f"Exported {total:,} customer{'s' if total != 1 else ''} of {segment.name} to {file}"
        )
