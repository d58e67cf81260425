"""`rapport export` and `rapport erase`: a person's data rights from the command line."""

import io
import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rapport.customers.models import Customer, Note
from rapport.customers.services import ContactPointService, NoteService
from rapport.events.models import OutboxEvent
from rapport.identity.services import MergeService
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.privacy.services import DataSubjectRequestService
from rapport.tenancy.actors import Actor

pytestmark = pytest.mark.django_db

RAPPORT = [sys.executable, "-m", "rapport.cli"]
ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """Typed answers, read as from an interactive terminal."""

    def isatty(self) -> bool:
        return True


def rapport(*args: str, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def without_time(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "exported_at"}


def nothing_erased() -> bool:
    return (
        not ErasureRecord.objects.exists()
        and not Customer.objects.exclude(erased_at=None).exists()
        and not OutboxEvent.objects.filter(type="customer.erased").exists()
    )


@pytest.fixture
def ada(system_actor, make_customer):
    """A customer with a contact point and a note."""
    customer = make_customer(
        code="ADA-1", first_name="Ada", last_name="Obi", email="ada@example.com"
    )
    ContactPointService.add_contact_point(
        actor=system_actor, code="ADA-1", type="email", value="ada.work@example.com"
    )
    NoteService.add_note(actor=system_actor, code="ADA-1", content="Ada likes mornings")
    return customer


@pytest.fixture
def erasure_request(system_actor, ada):
    return DataSubjectRequestService.open_request(
        actor=system_actor, kind="erasure", customer_code="ADA-1", channel="email"
    )


# --- export --------------------------------------------------------------------------------


def test_export_prints_the_same_document_as_the_api(admin_api, ada):
    document = json.loads(rapport("export", "ADA-1"))

    from_api = admin_api.get("/customers/ADA-1/export").json()
    assert without_time(document) == without_time(from_api)
    assert document["format"] == "rapport.customer-export"
    assert document["customer"]["email"] == "ada@example.com"
    contact_points = document["sections"]["customers"]["contact_points"]
    assert [point["value"] for point in contact_points] == ["ada.work@example.com"]


def test_export_to_a_dash_prints_the_document(ada, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    document = json.loads(rapport("export", "ADA-1", "-o", "-"))

    assert document["customer"]["code"] == "ADA-1"
    assert list(tmp_path.iterdir()) == []


def test_export_writes_a_file_only_its_owner_can_read(ada, tmp_path):
    path = tmp_path / "ada.json"

    output = rapport("export", "ADA-1", "-o", str(path))

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["customer"]["code"] == "ADA-1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert output == (
        f"Exported customer ADA-1 ({len(document['sections'])} sections, "
        f"{path.stat().st_size:,} bytes) to {path}\n"
    )
    assert [entry.name for entry in tmp_path.iterdir()] == ["ada.json"]


def test_a_merged_code_exports_the_customer_it_was_merged_into(system_actor, ada, make_customer):
    make_customer(code="ADA-2", first_name="Ada", last_name="Obi", email="ada@example.com")
    MergeService.merge(actor=system_actor, survivor="ADA-1", duplicate="ADA-2")

    document = json.loads(rapport("export", "ADA-2"))

    assert document["customer"]["code"] == "ADA-1"
    assert document["customer"]["merged_codes"] == ["ADA-2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NOPE"], "No customer with code 'NOPE'"),
        (["ADA-1", "--tenant", "other-shop"], "No customer with code 'ADA-1'"),
        (["ADA-1", "--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
        (["ADA-1", "-o", "OUT/missing/ada.json"], "No such file or directory"),
        (["ADA-1", "-o", "OUT"], "give a file name"),
        (["NOPE", "-o", "OUT/nope.json"], "No customer with code 'NOPE'"),
        ([], "the following arguments are required: CUSTOMER_CODE"),
    ],
)
def test_export_rejects_bad_input_in_one_line_and_writes_no_file(
    other_tenant, ada, tmp_path, args, message
):
    args = [arg.replace("OUT", str(tmp_path)) for arg in args]

    with pytest.raises(CommandError) as error:
        rapport("export", *args)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


# --- erase ---------------------------------------------------------------------------------


def test_erase_with_yes_anonymizes_the_person_and_prints_the_record(ada):
    output = rapport("erase", "ADA-1", "--yes")

    record = ErasureRecord.objects.get()
    ada.refresh_from_db()
    assert ada.erased_at is not None
    assert (ada.code, ada.first_name, ada.email) == ("ADA-1", "", "")
    assert "Ada" not in Note.objects.get(customer=ada).content
    assert record.erased_by == "system:cli"
    assert output.splitlines() == [
        "Erased the personal data of customer ADA-1.",
        f"  erasure    {record.uuid}",
        "  erased by  system:cli",
        f"  erased at  {record.erased_at.isoformat(timespec='seconds')}",
        "  rows changed, by app: "
        + ", ".join(f"{app} {count}" for app, count in sorted(record.counts.items())),
    ]


def test_erase_refuses_without_yes_when_no_one_can_confirm(ada):
    with pytest.raises(CommandError) as error:
        rapport("erase", "ADA-1")

    assert str(error.value) == (
        "Not erased: no terminal to confirm at; add --yes to erase without asking"
    )
    assert nothing_erased()


def test_erase_at_a_terminal_goes_ahead_when_the_code_is_typed_again(ada):
    stderr = io.StringIO()

    call_command("erase", "ADA-1", stdin=Terminal("ADA-1\n"), stdout=io.StringIO(), stderr=stderr)

    assert "Type the customer's code (ADA-1) to erase: " in stderr.getvalue()
    assert ErasureRecord.objects.get().customer_code == "ADA-1"


@pytest.mark.parametrize("typed", ["y\n", "yes\n", "ada-1\n", "\n", ""])
def test_erase_at_a_terminal_does_nothing_unless_the_code_is_typed(ada, typed):
    with pytest.raises(CommandError, match=r"^Not erased: the code typed does not match$"):
        rapport("erase", "ADA-1", stdin=Terminal(typed))

    assert nothing_erased()


def test_erasing_a_merged_code_asks_for_the_code_of_the_customer_it_was_merged_into(
    system_actor, ada, make_customer
):
    make_customer(code="ADA-2", first_name="Ada", last_name="Obi", email="ada@example.com")
    MergeService.merge(actor=system_actor, survivor="ADA-1", duplicate="ADA-2")
    stderr = io.StringIO()

    with pytest.raises(CommandError, match="does not match"):
        call_command(
            "erase", "ADA-2", stdin=Terminal("ADA-2\n"), stdout=io.StringIO(), stderr=stderr
        )
    assert stderr.getvalue().splitlines()[:2] == [
        "ADA-2 was merged into ADA-1: it is one person.",
        "Erase the personal data of customer ADA-1 (Ada Obi) and of any record merged into it.",
    ]
    assert nothing_erased()

    rapport("erase", "ADA-2", stdin=Terminal("ADA-1\n"))

    erased = Customer.objects.filter(code__in=["ADA-1", "ADA-2"]).exclude(erased_at=None)
    assert erased.count() == 2
    assert ErasureRecord.objects.get().customer_code == "ADA-1"


def test_erase_answers_an_erasure_request_and_completes_it(ada, erasure_request):
    output = rapport("erase", "ADA-1", "--request", str(erasure_request.uuid), "--yes")

    erasure_request.refresh_from_db()
    assert erasure_request.status == DataSubjectRequest.Status.COMPLETED
    assert erasure_request.handled_by == "system:cli"
    assert ErasureRecord.objects.get().request == erasure_request
    assert f"  request    {erasure_request.uuid} (now completed)" in output.splitlines()


def test_a_customer_cannot_be_erased_twice(ada):
    rapport("erase", "ADA-1", "--yes")

    with pytest.raises(CommandError, match=r"^The data of customer 'ADA-1' was already erased$"):
        rapport("erase", "ADA-1", "--yes")

    assert ErasureRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NOPE"], "No customer with code 'NOPE'"),
        (["ADA-1", "--tenant", "other-shop"], "No customer with code 'ADA-1'"),
        (["ADA-1", "--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
        (["ADA-1", "--request", "not-a-uuid"], "No data-subject request with that id"),
        (
            ["ADA-1", "--request", "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"],
            "No data-subject request with that id",
        ),
        (
            ["ADA-1", "--request", "ACCESS"],
            "The request cannot be answered by this erasure "
            "(request_id: It is a request for access, not erasure)",
        ),
        (
            ["BOLA", "--request", "ERASURE"],
            "The request cannot be answered by this erasure "
            "(request_id: The request is about another customer)",
        ),
        ([], "the following arguments are required: CUSTOMER_CODE"),
    ],
)
def test_erase_rejects_bad_input_in_one_line_and_erases_nothing(
    system_actor, other_tenant, ada, erasure_request, make_customer, args, message
):
    # Given another customer, and a request of another kind about Ada
    make_customer(code="BOLA", first_name="Bola")
    access = DataSubjectRequestService.open_request(
        actor=system_actor, kind="access", customer_code="ADA-1"
    )
    ids = {"ACCESS": str(access.uuid), "ERASURE": str(erasure_request.uuid)}

    # When the erasure is asked with bad input
    with pytest.raises(CommandError) as error:
        rapport("erase", *[ids.get(arg, arg) for arg in args], "--yes")

    # Then one line says what is wrong, and nothing is erased or answered
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert nothing_erased()
    assert set(DataSubjectRequest.objects.values_list("status", flat=True)) == {"received"}


def test_erase_reaches_no_customer_of_another_tenant(other_tenant, ada, make_customer):
    theirs = Actor.for_system(other_tenant, "tests")
    make_customer(actor=theirs, code="ADA-1", first_name="Ana", email="ana@example.com")

    rapport("erase", "ADA-1", "--tenant", "other-shop", "--yes")

    ada.refresh_from_db()
    assert ada.erased_at is None
    assert ada.first_name == "Ada"
    assert ErasureRecord.objects.get().tenant == other_tenant


# --- the real command, in a terminal and without one -----------------------------------------


def run(*args: str, env: dict, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RAPPORT, *args], capture_output=True, text=True, env=env, stdin=stdin, timeout=120
    )


def test_the_command_exits_non_zero_without_a_terminal_and_erases_at_one(tmp_path):
    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    assert run("migrate", "--verbosity", "0", env=env).returncode == 0
    setup = (
        "from rapport.customers.services import CustomerService;"
        "from rapport.tenancy.actors import Actor;"
        "from rapport.tenancy.services import TenantService;"
        "CustomerService.create_customer(actor=Actor.for_system(TenantService.get_default(),"
        " 'tests'), code='ADA-1', first_name='Ada', email='ada@example.com')"
    )
    assert run("shell", "--command", setup, env=env).returncode == 0
    count = "from rapport.privacy.models import ErasureRecord; print(ErasureRecord.objects.count())"

    refused = run("erase", "ADA-1", env=env, stdin=subprocess.DEVNULL)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "CommandError: Not erased: no terminal to confirm at; add --yes to erase without asking"
    )
    assert run("shell", "--command", count, env=env).stdout.strip().endswith("0")

    # At a terminal, the code typed again confirms it
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*RAPPORT, "erase", "ADA-1"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(terminal)
    os.write(controller, b"ADA-1\n")  # the terminal holds it until the prompt reads it
    stdout, stderr = process.communicate(timeout=120)
    os.close(controller)
    assert process.returncode == 0, stderr.decode()
    assert "Type the customer's code (ADA-1) to erase:" in stderr.decode()
    assert stdout.decode().startswith("Erased the personal data of customer ADA-1.")
    assert run("shell", "--command", count, env=env).stdout.strip().endswith("1")


@pytest.mark.parametrize("args", [["export", "ADA-1"], ["erase", "ADA-1", "--yes"]])
def test_without_the_privacy_app_the_command_says_so(tmp_path, args):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.core_alone",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)

    result = run(*args, env=env)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: The privacy app is not installed: add rapport.privacy to INSTALLED_APPS to use this"
    ]
