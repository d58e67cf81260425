"""`rapport duplicates`: the tenant's customers that look like one person, with the evidence."""

import csv
import io
import json
import sys
from contextlib import nullcontext

from django.core.management.base import BaseCommand
from rich.console import Console

from rapport.cli.shared import (
    add_tenant_argument,
    aligned,
    command_error,
    require_app,
    system_actor,
)
from rapport.exceptions import RapportError

FORMATS = ("table", "csv", "json")
NAME_WIDTH = 24  # a table column for names; longer names are cut with an ellipsis
CSV_COLUMNS = [
    "score",
    "can_merge",
    "first_code",
    "first_name",
    "second_code",
    "second_name",
    "reasons",
]


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _customer(customer) -> dict:
    return {
        "code": customer.code,
        "display_name": customer.display_name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "instagram_handle": customer.instagram_handle,
        "source": customer.source,
        "is_archived": customer.is_archived,
        "created_at": customer.created_at.isoformat(),
    }


class Command(BaseCommand):
    help = (
        "List pairs of customers that look like one person, best first, with the score and "
        "the evidence. Writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-score",
            type=float,
            default=None,
            help="Show pairs from this score, 0 to 1 (default 0.6)",
        )
        parser.add_argument(
            "--limit", type=int, default=100, help="At most this many pairs (default 100)"
        )
        parser.add_argument(
            "--format", choices=FORMATS, default="table", help="table (default), csv or json"
        )
        add_tenant_argument(parser)

    def handle(self, *args, min_score, limit, format, tenant, **options):
        require_app("identity")
        from rapport.identity import conf
        from rapport.identity.services import DuplicateService

        actor = system_actor(tenant)
        working = (
            Console(stderr=True).status("Comparing customers that share a phone, email, name…")
            if sys.stderr.isatty()
            else nullcontext()
        )
        try:
            with working:
                report = DuplicateService.find_duplicates(
                    tenant=actor.tenant, min_score=min_score, limit=limit
                )
        except RapportError as error:
            raise command_error(error) from None
        threshold = conf.MERGE_THRESHOLD
        min_score = conf.DEFAULT_MIN_SCORE if min_score is None else min_score
        if format == "json":
            self._json(report, threshold)
        elif format == "csv":
            self._csv(report, threshold)
        else:
            self._table(report, threshold, min_score, limit)
        if format != "table":
            for line in self._skipped(report):
                self.stderr.write(line, style_func=str)

    def _json(self, report, threshold: float) -> None:
        document = {
            "items": [
                {
                    "first": _customer(pair.first),
                    "second": _customer(pair.second),
                    "score": pair.score,
                    "reasons": pair.reasons,
                    "can_merge": pair.score >= threshold,
                }
                for pair in report.pairs
            ],
            "oversized_blocks": [
                {"key": block.key, "size": block.size} for block in report.oversized
            ],
            "compared": report.compared,
        }
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))

    def _csv(self, report, threshold: float) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for pair in report.pairs:
            writer.writerow(
                [
                    f"{pair.score:.4f}",
                    "yes" if pair.score >= threshold else "no",
                    pair.first.code,
                    pair.first.display_name,
                    pair.second.code,
                    pair.second.display_name,
                    "; ".join(pair.reasons),
                ]
            )
        self.stdout.write(buffer.getvalue(), ending="")

    def _table(self, report, threshold: float, min_score: float, limit: int) -> None:
        rows = [
            (
                f"{pair.score:.2f}",
                pair.first.code,
                _cut(pair.first.display_name, NAME_WIDTH),
                pair.second.code,
                _cut(pair.second.display_name, NAME_WIDTH),
                "; ".join(pair.reasons),
            )
            for pair in report.pairs
        ]
        compared = f"{report.compared:,} pair{'s' if report.compared != 1 else ''} compared"
        if not rows:
            self.stdout.write(f"No pairs score {min_score:.2f} or more ({compared}).")
        else:
            header = ("score", "first", "name", "second", "name", "evidence")
            for line in aligned([header, *rows]):
                self.stdout.write(line)
            more = f"; the first {limit}, --limit shows more" if len(rows) == limit else ""
            mergeable = sum(1 for pair in report.pairs if pair.score >= threshold)
            self.stdout.write(
                f"\n{len(rows):,} pair{'s' if len(rows) != 1 else ''} scoring "
                f"{min_score:.2f} or more ({compared}{more})."
            )
            if mergeable:
                self.stdout.write(
                    f"{mergeable:,} of them score{'s' if mergeable == 1 else ''} "
                    f"{threshold:.2f} or more, enough to merge: rapport merge SURVIVOR DUPLICATE"
                )
        for line in self._skipped(report):
            self.stdout.write(line)

    def _skipped(self, report) -> list[str]:
        if not report.oversized:
            return []
        keys = ", ".join(f"{block.key} ({block.size:,} customers)" for block in report.oversized)
        return [f"Not compared, shared by too many customers to be evidence: {keys}."]
