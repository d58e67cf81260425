"""Writing a chunk's insights in bulk: one upsert for every customer of the chunk.

On PostgreSQL the rows are copied into a temporary table and merged with one
INSERT … ON CONFLICT; elsewhere (SQLite) one executemany of the same upsert does it.
"""

import datetime as dt

import orjson
from django.db import connection

from rapport.insights.models import CustomerInsight

# Columns the caller gives per customer; times as seconds since 1970 UTC (None for none).
TIMES = ("first_order_at", "last_order_at", "first_visit_at", "last_visit_at")
JSON = ("preferred_products", "preferred_categories", "channels")
# Columns the same for every row of a chunk.
CONSTANTS = ("tenant_id", "run_id", "as_of", "calculated_at")


def _sql_type(name: str) -> str:
    if name in TIMES:
        return "bigint"
    field = CustomerInsight._meta.get_field(name.removesuffix("_id"))
    return field.db_type(connection)


def upsert(columns: dict[str, list], constants: dict[str, object]) -> int:
    """Insert or replace the insight of every customer in `columns["customer_id"]`."""
    count = len(columns["customer_id"])
    if not count:
        return 0
    if connection.vendor == "postgresql":
        _upsert_postgresql(columns, constants)
    else:
        _upsert_portable(columns, constants)
    return count


def _upsert_postgresql(columns: dict[str, list], constants: dict[str, object]) -> None:
    table = CustomerInsight._meta.db_table
    names = list(columns)
    quote = connection.ops.quote_name
    definition = ", ".join(f"{quote(name)} {_sql_type(name)}" for name in names)
    selected = [f"to_timestamp({quote(name)})" if name in TIMES else quote(name) for name in names]
    targets = [*names, *CONSTANTS]
    updates = ", ".join(
        f"{quote(name)} = EXCLUDED.{quote(name)}" for name in targets if name != "customer_id"
    )
    rows = zip(
        *[
            [None if value is None else orjson.dumps(value).decode() for value in columns[name]]
            if name in JSON
            else columns[name]
            for name in names
        ],
        strict=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE insight_load ({definition})")
        with cursor.cursor.copy(
            f"COPY insight_load ({', '.join(quote(name) for name in names)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {quote(table)} ({', '.join(quote(name) for name in targets)}) "
            f"SELECT {', '.join(selected)}, {', '.join(['%s'] * len(CONSTANTS))} "
            f"FROM insight_load ON CONFLICT (customer_id) DO UPDATE SET {updates}",
            [constants[name] for name in CONSTANTS],
        )
        cursor.execute("DROP TABLE insight_load")


def _moment(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _upsert_portable(columns: dict[str, list], constants: dict[str, object]) -> None:
    """One executemany of INSERT … ON CONFLICT DO UPDATE, values prepared by their fields."""
    table = CustomerInsight._meta.db_table
    quote = connection.ops.quote_name
    names = [*columns, *CONSTANTS]
    fields = [CustomerInsight._meta.get_field(name.removesuffix("_id")) for name in names]
    prepared = []
    for name, field in zip(names, fields, strict=True):
        values = (
            columns[name] if name in columns else [constants[name]] * len(columns["customer_id"])
        )
        if name in TIMES:
            values = [_moment(value) for value in values]
        prepared.append([field.get_db_prep_save(value, connection) for value in values])
    updates = ", ".join(
        f"{quote(name)} = excluded.{quote(name)}" for name in names if name != "customer_id"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(table)} ({', '.join(quote(name) for name in names)}) "
            f"VALUES ({', '.join(['%s'] * len(names))}) "
            f"ON CONFLICT (customer_id) DO UPDATE SET {updates}",
            list(zip(*prepared, strict=True)),
        )
