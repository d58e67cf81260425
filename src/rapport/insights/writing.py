"""Writing a chunk's insights in bulk: every customer of the chunk in one statement.

On PostgreSQL the chunk's insights are deleted and the new ones copied in with COPY; elsewhere
(SQLite) one executemany of INSERT … ON CONFLICT DO UPDATE does it.
"""

import datetime as dt

import numpy as np
import orjson
from django.db import connection

from rapport.insights.models import CustomerInsight

# Columns the caller gives per customer; times as seconds since 1970 UTC (None for none).
TIMES = ("first_order_at", "last_order_at", "first_visit_at", "last_visit_at")
JSON = ("preferred_products", "preferred_categories", "channels")
# Columns the same for every row of a chunk.
CONSTANTS = ("tenant_id", "run_id", "as_of", "calculated_at")


# The first key of the PostgreSQL advisory lock insight writes take; the second is the tenant.
LOCK_NAMESPACE = 0x1A51


def upsert(columns: dict[str, list], constants: dict[str, object]) -> int:
    """Insert or replace the insight of every customer in `columns["customer_id"]`.

    On PostgreSQL the writes of one tenant's insights take turns (an advisory lock held to the
    commit), so that no two transactions delete and copy in the same customer's row at once:
    two runs, or a run and one customer's recalculation. Their reads still overlap.
    """
    count = len(columns["customer_id"])
    if not count:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, constants["tenant_id"]]
            )
        _replace_postgresql(columns, constants)
    else:
        _upsert_portable(columns, constants)
    return count


def _replace_postgresql(columns: dict[str, list], constants: dict[str, object]) -> None:
    """Delete the customers' insights and COPY the new ones in, in the caller's transaction.

    The rows go as one block of COPY text built a column at a time (several times faster than
    adapting each value of each row); readers see the old insights until the commit.
    """
    table = CustomerInsight._meta.db_table
    quote = connection.ops.quote_name
    names = [*columns, *CONSTANTS]
    count = len(columns["customer_id"])
    text_columns = [
        [_copy_value(constants[name])] * count
        if name in CONSTANTS
        else _copy_column(name, columns[name])
        for name in names
    ]
    payload = "".join(f"{line}\n" for line in map("\t".join, zip(*text_columns, strict=True)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(table)} WHERE customer_id = ANY(%s)", [columns["customer_id"]]
        )
        statement = f"COPY {quote(table)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            copy.write(payload.encode())


NULL = "\\N"
ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: object) -> str:
    """One value as COPY's text format writes it."""
    if value is None:
        return NULL
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).translate(ESCAPES)


def _copy_column(name: str, values: list) -> list[str]:
    """A column of values as COPY text: times (seconds since 1970 UTC) as ISO 8601, JSON as text."""
    if name in TIMES:
        seconds = np.asarray([0 if value is None else value for value in values], dtype=np.int64)
        stamps = np.datetime_as_string(seconds.astype("datetime64[s]")).tolist()
        return [
            NULL if value is None else f"{stamp}Z"
            for value, stamp in zip(values, stamps, strict=True)
        ]
    if name in JSON:  # product names are free text: escaped for COPY
        return [orjson.dumps(value).decode().translate(ESCAPES) for value in values]
    # Numbers and rapport's own words (codes, segments, methods): nothing to escape.
    if None not in values:
        return list(map(str, values))
    return [NULL if value is None else str(value) for value in values]


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
