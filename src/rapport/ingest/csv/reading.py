"""Reading a CSV file for import: UTF-8 with or without BOM, a sniffed delimiter, numbered rows."""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from rapport.exceptions import InvalidInput

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SAMPLE_BYTES = 64 * 1024
# A cell may hold a long note; beyond this the file is more likely not a CSV at all.
FIELD_LIMIT = 1024 * 1024


class BadFile(InvalidInput):
    """The file cannot be read as a CSV file with a header row: nothing of it is imported."""

    code = "bad_file"


@dataclass(frozen=True)
class Row:
    """One data row: its number as a spreadsheet shows it (the header is row 1) and its cells."""

    number: int
    cells: list[str]


def _sample(file: BinaryIO) -> str:
    """The start of the file, decoded; BadFile if it is not UTF-8 text."""
    raw = file.read(SAMPLE_BYTES)
    file.seek(0)
    if not raw.strip():
        raise BadFile("The file is empty", fields={"file": "A header row is required"})
    if b"\x00" in raw:
        raise BadFile("The file is not a CSV file", fields={"file": "It holds binary data"})
    # An incremental decoder forgives a character cut in two at the sample's end.
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=False)
    except UnicodeDecodeError:
        raise BadFile(
            "The file is not UTF-8 text", fields={"file": "Save it as CSV UTF-8 and try again"}
        ) from None


def sniff_delimiter(header_line: str) -> str:
    """The delimiter among comma, semicolon and tab that splits the header line most often."""
    counts = {delimiter: 0 for delimiter in DELIMITERS}
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


class CsvFile:
    """A CSV file opened for reading: the header, the delimiter, and the data rows, streamed.

    `file` is a binary file positioned at its start that can seek (a file on disk, an upload).
    """

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        sample = _sample(file)
        self.delimiter = sniff_delimiter(sample.splitlines()[0] if sample else "")
        rows = self._reader()
        try:
            header = next(rows)
        except StopIteration:
            raise BadFile(
                "The file is empty", fields={"file": "A header row is required"}
            ) from None
        self.header = [cell.strip() for cell in header]
        if not any(self.header):
            raise BadFile("The header row is empty", fields={"file": "Row 1 names the columns"})

    def _reader(self) -> Iterator[list[str]]:
        self.file.seek(0)
        text = io.TextIOWrapper(self.file, encoding="utf-8-sig", newline="")
        try:
            csv.field_size_limit(FIELD_LIMIT)
            yield from csv.reader(text, delimiter=self.delimiter, strict=False)
        except UnicodeDecodeError:
            raise BadFile(
                "The file is not UTF-8 text", fields={"file": "Save it as CSV UTF-8 and try again"}
            ) from None
        except csv.Error as error:
            raise BadFile("The file is not a valid CSV file", fields={"file": str(error)}) from None
        finally:
            text.detach()  # the caller owns the file; closing the wrapper would close it

    def rows(self) -> Iterator[Row]:
        """The data rows after the header, numbered from 2; blank lines are skipped."""
        rows = self._reader()
        next(rows, None)
        for index, cells in enumerate(rows, start=2):
            if any(cell.strip() for cell in cells):
                yield Row(index, cells)

    def count_rows(self) -> int:
        """How many data rows the file holds; reading it whole also checks it decodes."""
        return sum(1 for _ in self.rows())

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES[self.delimiter]
