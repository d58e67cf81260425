"""What every CSV import shares: units of rows, chunks, the fallback row by row, the report.

A unit is what is imported all or nothing: one customer row, or one order with its line rows.
Each chunk of units is written in one transaction. If the importer can name the units that
failed, the chunk is rolled back and written again without them; otherwise it is redone unit
by unit, each in its own savepoint, so one bad unit costs only itself. A dry run does all of it
inside one transaction that is rolled back at the end: it reports what a real run would do,
counting customers the file itself creates, and leaves nothing behind.
"""

import enum
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction

from rapport.exceptions import InvalidInput, RapportError
from rapport.ingest.csv.mapping import ColumnMap, Field
from rapport.ingest.csv.reading import CsvFile, Row
from rapport.tenancy.actors import Actor

DEFAULT_CHUNK_ROWS = 5_000
ERRORS_KEPT = 1_000  # the errors a report holds; the count covers them all
RETRIES = 3  # tries of a chunk without the units the last try named, before one by one


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RowError:
    """Why a row was not imported: its number (the header is row 1), the field, the problem."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class Unit:
    """Rows imported together, all or nothing, and what they parse to."""

    rows: list[int]
    value: Any = None
    errors: list[RowError] = field(default_factory=list)


class PartialFailure(Exception):
    """Some units of a write failed and everything it wrote was rolled back: the failed units
    by their index in the call, with their errors; the others may be written again."""

    def __init__(self, failed: dict[int, list["RowError"]]) -> None:
        super().__init__(f"{len(failed)} units failed")
        self.failed = failed


class RowProblem(Exception):
    """A cell that cannot be read; the parser turns it into a RowError."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class ImportReport:
    """What an import did, or in a dry run would do, so far."""

    kind: str
    dry_run: bool = False
    total_rows: int = 0
    processed_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        if outcome is Outcome.CREATED:
            self.created += 1
        elif outcome is Outcome.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1

    def fail(self, unit: Unit, errors: list[RowError]) -> None:
        """Count the unit's rows as not imported, each named in the errors."""
        named = {error.row for error in errors}
        first = min(named) if named else unit.rows[0]
        errors = [
            *errors,
            *(
                RowError(row, "", f"Not imported: it goes with row {first}, which has an error")
                for row in unit.rows
                if row not in named
            ),
        ]
        self.error_rows += len(unit.rows)
        room = ERRORS_KEPT - len(self.errors)
        if room > 0:
            self.errors.extend(sorted(errors, key=lambda error: error.row)[:room])


def error_rows(
    unit: Unit, error: RapportError, fields: dict[str, str] | None = None
) -> list[RowError]:
    """A service's error as row errors on the unit's first row, one per field it names."""
    fields = error.fields if fields is None else fields
    row = unit.rows[0]
    if not fields:
        return [RowError(row, "", error.message)]
    if isinstance(error, InvalidInput):  # its message only says that fields are wrong
        return [RowError(row, name, problem) for name, problem in fields.items()]
    return [RowError(row, name, f"{error.message} ({problem})") for name, problem in fields.items()]


class Importer:
    """One kind of import: its fields, how rows become units, and how units are written."""

    kind = ""
    fields: tuple[Field, ...] = ()

    def __init__(self, actor: Actor, columns: ColumnMap) -> None:
        self.actor = actor
        self.tenant = actor.tenant
        self.columns = columns

    @classmethod
    def available_fields(cls) -> tuple[Field, ...]:
        return cls.fields

    @classmethod
    def unavailable_fields(cls) -> dict[str, str]:
        """Fields of an optional app that is not installed, with why they cannot be used."""
        return {}

    @classmethod
    def check_columns(cls, columns: ColumnMap) -> None:
        """InvalidInput when the mapping lacks a field every row needs."""

    def values(self, row: Row) -> dict[str, str]:
        """The row's trimmed cells by field; a field not mapped (or a short row) is absent."""
        cells = row.cells
        width = len(cells)
        return {name: cells[index].strip() for name, index in self._indexes if index < width}

    @property
    def _indexes(self) -> list[tuple[str, int]]:
        indexes = self.__dict__.get("_column_indexes")
        if indexes is None:
            indexes = [(name, index) for name, (index, _) in self.columns.columns.items()]
            self.__dict__["_column_indexes"] = indexes
        return indexes

    def units(self, rows: Iterable[Row]) -> Iterator[Unit]:
        raise NotImplementedError

    def write(self, units: list[Unit]) -> list[Outcome | list[RowError]]:
        """Write the units; raise to have them redone one by one."""
        raise NotImplementedError

    def failure(self, unit: Unit, error: Exception) -> list[RowError]:
        """The row errors for a unit that failed on its own."""
        if isinstance(error, RapportError):
            return error_rows(unit, error)
        return [RowError(unit.rows[0], "", "The database refused the row")]


def chunks(units: Iterable[Unit], rows_per_chunk: int) -> Iterator[list[Unit]]:
    """Units in lists of about `rows_per_chunk` rows; a unit is never split."""
    chunk: list[Unit] = []
    rows = 0
    for unit in units:
        chunk.append(unit)
        rows += len(unit.rows)
        if rows >= rows_per_chunk:
            yield chunk
            chunk, rows = [], 0
    if chunk:
        yield chunk


def _write(importer: Importer, units: list[Unit]) -> list[Outcome | list[RowError]]:
    """The chunk in one transaction, less the units a first try named as failing; if it still
    fails, each unit in its own savepoint."""
    results: dict[int, Outcome | list[RowError]] = {}
    pending = list(range(len(units)))
    for _attempt in range(RETRIES):
        if not pending:
            break
        try:
            with transaction.atomic():
                written = importer.write([units[index] for index in pending])
        except PartialFailure as failure:
            for position, errors in failure.failed.items():
                results[pending[position]] = errors
            pending = [
                index for position, index in enumerate(pending) if position not in failure.failed
            ]
            continue
        except (RapportError, DatabaseError):
            break
        results.update(zip(pending, written, strict=True))
        pending = []
    for index in pending:
        unit = units[index]
        try:
            with transaction.atomic():
                results[index] = importer.write([unit])[0]
        except PartialFailure as failure:
            results[index] = failure.failed.get(0) or [RowError(unit.rows[0], "", "Not valid")]
        except (RapportError, DatabaseError) as error:
            results[index] = importer.failure(unit, error)
    return [results[index] for index in range(len(units))]


def run(
    importer: Importer,
    csv_file: CsvFile,
    *,
    dry_run: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    total_rows: int = 0,
    on_chunk: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import every row of the file; `on_chunk` sees the report after each chunk."""
    report = ImportReport(
        kind=importer.kind,
        dry_run=dry_run,
        total_rows=total_rows,
        mapping=importer.columns.names(),
        ignored_columns=importer.columns.ignored,
    )
    with transaction.atomic() if dry_run else nullcontext():
        for chunk in chunks(importer.units(csv_file.rows()), chunk_rows):
            good = [unit for unit in chunk if not unit.errors]
            written = dict(zip(map(id, good), _write(importer, good), strict=True))
            for unit in chunk:  # in file order, so errors are listed by row
                result = written.get(id(unit), unit.errors)
                if isinstance(result, Outcome):
                    report.count(result)
                else:
                    report.fail(unit, result)
            report.processed_rows += sum(len(unit.rows) for unit in chunk)
            if on_chunk is not None:
                on_chunk(report)
        if dry_run:
            transaction.set_rollback(True)
    report.total_rows = max(report.total_rows, report.processed_rows)
    return report
