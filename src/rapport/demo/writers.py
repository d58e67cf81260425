"""Writing generated rows straight into a table: COPY on PostgreSQL, multi-row INSERT elsewhere.

`bulk_create` would run `pre_save`, which stamps `auto_now_add` fields with the current time;
demo rows carry their own `created_at` spread over two years, so they go in through the cursor.
"""

from collections.abc import Callable, Iterable, Sequence

import orjson
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


class TableWriter:
    """Inserts tuples whose values follow `attnames`; other columns get the field's default."""

    def __init__(
        self, connection: BaseDatabaseWrapper, model: type[models.Model], attnames: Sequence[str]
    ) -> None:
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(attnames) - set(by_attname)
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
        self.connection = connection
        self.fields = [by_attname[name] for name in attnames]
        # Columns added to the model later still get a value: their default.
        self.extra_fields = [
            f
            for f in model._meta.concrete_fields
            if f.attname not in attnames and not (f.primary_key and f.attname == "id")
        ]
        self.extra_defaults: list[Callable[[], object]] = [
            f.get_default if callable(f.default) else _constant(f.get_default())
            for f in self.extra_fields
        ]
        quote = connection.ops.quote_name
        self.table = quote(model._meta.db_table)
        self.columns = ", ".join(quote(f.column) for f in [*self.fields, *self.extra_fields])
        self.json_positions = [
            i
            for i, f in enumerate([*self.fields, *self.extra_fields])
            if f.get_internal_type() == "JSONField"
        ]

    def _complete(self, row: tuple) -> tuple:
        if self.extra_defaults:
            row = (*row, *(default() for default in self.extra_defaults))
        return row

    def write(self, rows: Iterable[tuple]) -> None:
        if self.connection.vendor == "postgresql":
            self._copy(rows)
        else:
            self._insert(rows)

    def _copy(self, rows: Iterable[tuple]) -> None:
        json_positions = self.json_positions
        with (
            self.connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                row = self._complete(row)
                if json_positions:
                    row = list(row)
                    for i in json_positions:
                        row[i] = orjson.dumps(row[i]).decode()
                copy.write_row(row)

    def _insert(self, rows: Iterable[tuple]) -> None:
        fields = [*self.fields, *self.extra_fields]
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {self.table} ({self.columns}) VALUES ({placeholders})"
        connection = self.connection
        prepared = [
            tuple(
                f.get_db_prep_save(value, connection)
                for f, value in zip(fields, self._complete(row), strict=True)
            )
            for row in rows
        ]
        if prepared:
            with connection.cursor() as cursor:
                cursor.executemany(sql, prepared)
