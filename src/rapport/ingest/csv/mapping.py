"""Which CSV column feeds which rapport field: defaults by name and alias, and overrides."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapport.exceptions import InvalidInput


@dataclass(frozen=True)
class Field:
    """A rapport field an import can fill, and the column names that feed it by default."""

    name: str
    description: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnMap:
    """The columns chosen: rapport field -> (column index, column name as in the header)."""

    columns: dict[str, tuple[int, str]]
    ignored: list[str]  # header columns no field reads

    def names(self) -> dict[str, str]:
        """rapport field -> CSV column, as a job records it."""
        return {field: column for field, (_, column) in self.columns.items()}

    def __contains__(self, field: str) -> bool:
        return field in self.columns


def column_key(name: str) -> str:
    """A column name compared loosely: case, spaces, '_', '-' and '.' do not matter."""
    return re.sub(r"[\s_.\-]+", "", name).casefold()


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`field=Column` pairs as a dict; InvalidInput naming a pair without '='."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        field, equals, column = pair.partition("=")
        if not equals or not field.strip():
            raise InvalidInput(
                f"The mapping {pair!r} is not field=Column",
                fields={"mapping": "Write field=Column, e.g. email=E-mail address"},
            )
        overrides[field.strip()] = column.strip()
    return overrides


def resolve(
    fields: Sequence[Field],
    header: Sequence[str],
    overrides: Mapping[str, str] | None = None,
    *,
    unavailable: Mapping[str, str] | None = None,
    defaults: bool = True,
) -> ColumnMap:
    """The mapping of `fields` onto `header`: overrides first, then same-named columns.

    An override `field=` with no column leaves the field out. Raises InvalidInput naming
    every unknown field and every column the header does not have, before any row is read.
    `unavailable` names fields that exist but cannot be used here, with the reason. Without
    `defaults`, only the overrides are used (a job replaying the mapping it recorded).
    """
    overrides = dict(overrides or {})
    unavailable = dict(unavailable or {})
    known = {field.name: field for field in fields}
    exact = {}
    loose = {}
    for index, column in enumerate(header):
        if column:
            exact.setdefault(column, index)
            loose.setdefault(column_key(column), index)
    errors: dict[str, str] = {}
    columns: dict[str, tuple[int, str]] = {}
    for name, column in overrides.items():
        if not isinstance(name, str) or not isinstance(column, str):
            errors[str(name)] = "Map a field name to a column name"
        elif name in unavailable:
            errors[name] = unavailable[name]
        elif name not in known:
            errors[name] = f"Not a field of this import; use one of {', '.join(known)}"
        elif column:
            index = exact.get(column.strip(), loose.get(column_key(column)))
            if index is None:
                errors[name] = f"No column {column!r} in the header"
            else:
                columns[name] = (index, header[index])
    if errors:
        raise InvalidInput("The column mapping is not valid", fields=errors)
    taken = {index for index, _ in columns.values()}
    for field in fields if defaults else ():
        if field.name in overrides or field.name in unavailable:
            continue
        for candidate in (field.name, *field.aliases):
            index = loose.get(column_key(candidate))
            if index is not None and index not in taken:
                columns[field.name] = (index, header[index])
                taken.add(index)
                break
    ignored = [column for index, column in enumerate(header) if column and index not in taken]
    return ColumnMap(columns=columns, ignored=ignored)
