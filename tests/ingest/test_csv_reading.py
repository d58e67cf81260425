"""Reading CSV files for import, and mapping their columns to rapport's fields."""

import io

import pytest

from rapport.exceptions import InvalidInput
from rapport.ingest.csv.mapping import Field, parse_overrides, resolve
from rapport.ingest.csv.reading import BadFile, CsvFile

FIELDS = (
    Field("first_name", "", ("first name", "given name")),
    Field("email", "", ("e-mail", "email address")),
    Field("phone", "", ("phone number", "mobile")),
    Field("tags", "", ()),
)


def csv_file(data: bytes) -> CsvFile:
    return CsvFile(io.BytesIO(data))


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"name,email\nAda,ada@example.com\n", ","),
        (b"\xef\xbb\xbfname;email\nAda;ada@example.com\n", ";"),
        (b"name\temail\nAda\tada@example.com\n", "\t"),
        (b'"name, full";email\n"Obi, Ada";ada@example.com\n', ";"),
    ],
)
def test_the_delimiter_is_sniffed_and_a_bom_dropped(data, delimiter):
    file = csv_file(data)

    assert file.delimiter == delimiter
    assert file.header[1] == "email"
    assert [row.cells[1] for row in file.rows()] == ["ada@example.com"]


def test_rows_are_numbered_as_a_spreadsheet_shows_them():
    # Given a quoted cell over two lines and a blank line
    data = b'name,note\nAda,"two\nlines"\n\nBola,x\n'

    rows = list(csv_file(data).rows())

    # Then the header is row 1 and each record is one row; the blank row is skipped
    assert [(row.number, row.cells[0]) for row in rows] == [(2, "Ada"), (4, "Bola")]
    assert csv_file(data).count_rows() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"  \n", "The file is empty"),
        (b"name\nJos\xe9\n", "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV file"),
        (b",,\nx,y,z\n", "The header row is empty"),
    ],
)
def test_files_that_are_not_utf8_csv_are_refused(data, message):
    with pytest.raises(BadFile, match=message):
        file = csv_file(data)
        file.count_rows()


def test_bytes_that_do_not_decode_late_in_the_file_are_found_by_the_count():
    data = b"name\n" + b"Ada\n" * 30_000 + b"Jos\xe9\n"
    file = csv_file(data)

    with pytest.raises(BadFile, match="not UTF-8"):
        file.count_rows()


def test_columns_map_to_fields_by_name_whatever_the_case_and_spacing():
    header = ["First Name", "E-Mail", "Mobile", "Shoe size"]

    columns = resolve(FIELDS, header)

    assert columns.names() == {"first_name": "First Name", "email": "E-Mail", "phone": "Mobile"}
    assert columns.ignored == ["Shoe size"]


def test_an_override_picks_another_column_or_leaves_a_field_out():
    header = ["first_name", "email", "Contact mail", "phone"]

    columns = resolve(FIELDS, header, {"email": "contact MAIL", "phone": ""})

    assert columns.names() == {"first_name": "first_name", "email": "Contact mail"}
    assert columns.ignored == ["email", "phone"]


def test_unknown_fields_and_missing_columns_are_named_before_any_row_is_read():
    with pytest.raises(InvalidInput) as caught:
        resolve(FIELDS, ["email"], {"shoe_size": "email", "phone": "Telephone"})

    assert caught.value.fields == {
        "shoe_size": "Not a field of this import; use one of first_name, email, phone, tags",
        "phone": "No column 'Telephone' in the header",
    }


def test_a_field_of_an_app_not_installed_says_so():
    with pytest.raises(InvalidInput) as caught:
        resolve(FIELDS, ["email"], {"email_marketing": "email"}, unavailable={
            "email_marketing": "The consent app is not installed"
        })  # fmt: skip

    assert caught.value.fields == {"email_marketing": "The consent app is not installed"}


def test_overrides_are_field_equals_column():
    assert parse_overrides(["email=E-mail address", "phone="]) == {
        "email": "E-mail address",
        "phone": "",
    }
    with pytest.raises(InvalidInput, match="not field=Column"):
        parse_overrides(["email"])
