"""`rapport import` and `rapport export-customers`: the CSV doors on the command line."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from rapport.commerce.models import Order
from rapport.customers.models import Customer


def write(tmp_path, text: str, name="file.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_customers_reports_counts_and_the_rows_it_skipped(tenant, tmp_path):
    path = write(tmp_path, "name,mail\nAda,ada@example.com\nBola,nope\n")
    out = io.StringIO()

    call_command(
        "import", "customers", path, "--map", "first_name=name", "--map", "email=mail", stdout=out
    )

    assert out.getvalue().splitlines() == [
        "Imported file.csv: 2 rows read.",
        "Customers created: 1, updated: 0, unchanged: 0.",
        "1 row not imported because of errors:",
        "  row 3, email: 'nope' is not an email address",
    ]
    assert Customer.objects.get().first_name == "Ada"


def test_import_orders_dry_run_writes_nothing(tenant, tmp_path):
    path = write(
        tmp_path,
        "order,date,email,product,price,shoe size\n"
        "1,2025-01-05,a@example.com,Tea,3,42\n"
        "1,2025-01-05,,Jam,2,\n",
    )
    out = io.StringIO()

    call_command("import", "orders", path, "--dry-run", stdout=out)

    assert out.getvalue().splitlines() == [
        "Dry run of file.csv: 2 rows read.",
        "Orders would be created: 1, would be updated: 0, unchanged: 0.",
        "Columns not imported: shoe size.",
        "Nothing was written: run again without --dry-run to import.",
    ]
    assert not Order.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customers", "missing.csv"], "No file 'missing.csv'"),
        (["customers", "{file}", "--map", "shoe=name"], "The column mapping is not valid (shoe:"),
        (["customers", "{file}", "--map", "email"], "is not field=Column"),
        (["customers", "{file}", "--map", "email=Mail"], "No column 'Mail' in the header"),
        (["customers", "{file}", "--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
        (["customers", "{file}", "--chunk-size", "0"], "--chunk-size must be at least 1"),
        (["customers", "{binary}"], "The file is not a CSV file"),
    ],
)
def test_import_refuses_bad_arguments_and_writes_nothing(tenant, tmp_path, args, message):
    file = write(tmp_path, "name,email\nAda,ada@example.com\n")
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\x00\x00")
    args = [arg.format(file=file, binary=binary) for arg in args]

    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("import", *args)

    assert not Customer.objects.exists()


def test_export_customers_writes_a_file_that_imports_back(tenant, tmp_path, make_customer):
    make_customer(first_name="Ada", email="ada@example.com")
    make_customer(first_name="Bola")
    target = tmp_path / "customers.csv"
    out = io.StringIO()

    call_command("export-customers", str(target), stdout=out)

    assert out.getvalue().strip() == f"Exported 2 customers to {target}"
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"))))
    assert sorted(row["first_name"] for row in rows) == ["Ada", "Bola"]
    assert target.stat().st_mode & 0o077 == 0  # readable by its owner only
    again = io.StringIO()
    call_command("import", "customers", str(target), stdout=again)
    assert "created: 0, updated: 0, unchanged: 2" in again.getvalue()


def test_export_customers_refuses_an_unknown_tag(tenant, tmp_path):
    with pytest.raises(CommandError, match="Unknown tag"):
        call_command("export-customers", str(tmp_path / "x.csv"), "--tag", "Nope")
    assert not (tmp_path / "x.csv").exists()


def test_the_privacy_export_of_one_customer_still_works(tenant, make_customer):
    customer = make_customer(first_name="Ada")
    out = io.StringIO()

    call_command("export", customer.code, stdout=out)

    assert f'"code": "{customer.code}"' in out.getvalue()
