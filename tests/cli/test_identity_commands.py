"""`rapport duplicates` and `rapport merge`: the identity services behind the command line."""

import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rapport.customers.models import Customer, Note
from rapport.customers.services import NoteService, TagService, find_customer
from rapport.events.models import OutboxEvent
from rapport.identity import conf
from rapport.identity.models import CustomerMerge
from rapport.identity.services import MergeService
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

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


def counts() -> dict[str, int]:
    return {
        "merges": CustomerMerge.objects.count(),
        "merged away": Customer.objects.exclude(merged_into=None).count(),
        "undone": CustomerMerge.objects.exclude(undone_at=None).count(),
        "timeline": TimelineEvent.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "notes": Note.objects.count(),
    }


@pytest.fixture
def twins(system_actor, make_customer):
    """Two records of one person (same name and email), one with a note and a tag; a stranger."""
    make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(code="DUP", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(code="STRANGER", first_name="Tunde", last_name="Bello", phone="08039990009")
    NoteService.add_note(actor=system_actor, code="DUP", content="Allergic to penicillin")
    TagService.add_tags(actor=system_actor, code="DUP", names=["VIP"])


@pytest.fixture
def cousins(make_customer):
    """Two people who share a phone and a surname: a weak pair, below the merge threshold."""
    make_customer(code="BOLA", first_name="Bola", last_name="Ade", phone="08031112222")
    make_customer(code="BOSE", first_name="Bose", last_name="Ade", phone="08031112222")


# --- duplicates ----------------------------------------------------------------------------


def test_duplicates_lists_the_pairs_best_first_with_the_evidence(twins, cousins):
    output = rapport("duplicates", "--min-score", "0.5")

    assert output.splitlines() == [
        "score  first  name      second  name      evidence",
        "0.88   KEEP   Ada Obi   DUP     Ada Obi   Same email ada@example.com; Same name: Ada Obi",
        "0.70   BOLA   Bola Ade  BOSE    Bose Ade  Same phone +2348031112222",
        "",
        "2 pairs scoring 0.50 or more (2 pairs compared).",
        "1 of them scores 0.80 or more, enough to merge: rapport merge SURVIVOR DUPLICATE",
    ]


def test_duplicates_as_csv_and_json_hold_the_same_pairs(twins, cousins):
    rows = list(
        csv.DictReader(io.StringIO(rapport("duplicates", "--min-score", "0.5", "--format", "csv")))
    )
    document = json.loads(rapport("duplicates", "--min-score", "0.5", "--format", "json"))

    assert [(row["first_code"], row["second_code"], row["can_merge"]) for row in rows] == [
        ("KEEP", "DUP", "yes"),
        ("BOLA", "BOSE", "no"),
    ]
    assert rows[0]["reasons"] == "Same email ada@example.com; Same name: Ada Obi"
    assert rows[0]["first_name"] == "Ada Obi"
    assert float(rows[0]["score"]) >= conf.MERGE_THRESHOLD
    assert [(item["first"]["code"], item["second"]["code"]) for item in document["items"]] == [
        ("KEEP", "DUP"),
        ("BOLA", "BOSE"),
    ]
    assert document["items"][0]["reasons"] == ["Same email ada@example.com", "Same name: Ada Obi"]
    assert document["items"][0]["first"]["email"] == "ada@example.com"
    assert [item["can_merge"] for item in document["items"]] == [True, False]
    assert document["compared"] == 2
    assert document["oversized_blocks"] == []


def test_duplicates_obeys_the_minimum_score_and_the_limit(twins, cousins):
    best = rapport("duplicates", "--limit", "1", "--min-score", "0.5", "--format", "json")
    strict = rapport("duplicates", "--min-score", "0.8", "--format", "json")

    assert [item["first"]["code"] for item in json.loads(best)["items"]] == ["KEEP"]
    assert [item["first"]["code"] for item in json.loads(strict)["items"]] == ["KEEP"]
    assert "the first 1, --limit shows more" in rapport(
        "duplicates", "--limit", "1", "--min-score", "0.5"
    )


def test_duplicates_says_so_when_there_are_none(make_customer):
    make_customer(code="ONE", first_name="Ada", last_name="Obi")
    make_customer(code="TWO", first_name="Tunde", last_name="Bello")

    assert rapport("duplicates") == "No pairs score 0.60 or more (0 pairs compared).\n"
    assert json.loads(rapport("duplicates", "--format", "json"))["items"] == []


def test_duplicates_names_the_keys_too_widely_shared_to_compare(monkeypatch, make_customer):
    # Given a phone on more customers than a block may hold (the shop's own number)
    monkeypatch.setattr(conf, "BLOCK_LIMIT", 2)
    for code, first_name in (("A1", "Ada"), ("B2", "Bisi"), ("C3", "Chidi")):
        make_customer(code=code, first_name=first_name, phone="08030000000")

    # When duplicates are listed as a table and as CSV
    table = rapport("duplicates")
    stderr = io.StringIO()
    call_command("duplicates", "--format", "csv", stdout=io.StringIO(), stderr=stderr)

    # Then the key is reported, on stdout for a table and on stderr beside CSV
    note = "Not compared, shared by too many customers to be evidence: phone +2348030000000 (3 customers)."
    assert table.splitlines()[-1] == note
    assert stderr.getvalue().strip() == note


def test_duplicates_reads_only_the_tenant_it_is_given(other_tenant, twins, make_customer):
    theirs = Actor.for_system(other_tenant, "tests")
    make_customer(actor=theirs, code="T1", first_name="Rui", last_name="Lima", email="r@ex.com")
    make_customer(actor=theirs, code="T2", first_name="Rui", last_name="Lima", email="r@ex.com")

    document = json.loads(rapport("duplicates", "--tenant", "other-shop", "--format", "json"))

    assert [(item["first"]["code"], item["second"]["code"]) for item in document["items"]] == [
        ("T1", "T2")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "0"], "The duplicate search bounds are not valid (limit: Between 1 and 1000)"),
        (["--limit", "1001"], "(limit: Between 1 and 1000)"),
        (["--min-score", "1.5"], "(min_score: Between 0 and 1)"),
        (["--min-score", "nan"], "(min_score: Between 0 and 1)"),
        (["--min-score", "high"], "invalid float value: 'high'"),
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
    ],
)
def test_duplicates_rejects_bad_arguments_in_one_line(twins, args, message):
    with pytest.raises(CommandError) as error:
        rapport("duplicates", *args)

    assert message in str(error.value)
    assert "\n" not in str(error.value)


# --- merge ---------------------------------------------------------------------------------


def test_a_dry_run_shows_the_evidence_and_the_plan_and_writes_nothing(twins):
    before = counts()

    output = rapport("merge", "KEEP", "DUP", "--dry-run")

    lines = output.splitlines()
    assert lines[:5] == [
        "Merge DUP (Ada Obi) into KEEP (Ada Obi)",
        "",
        "Evidence: score 0.88, enough to merge (a merge needs 0.80)",
        "  - Same email ada@example.com",
        "  - Same name: Ada Obi",
    ]
    assert "What happens (DUP is archived; its code then finds KEEP):" in lines
    plan = [line.split() for line in lines if line.startswith("  customers")]
    assert ["customers", "1", "notes", "move"] in plan
    assert ["customers", "1", "tags", "combine", "adds", "VIP"] in plan
    assert lines[-1] == "Dry run: nothing was changed. Merge with: rapport merge KEEP DUP"
    assert counts() == before


def test_the_preview_shows_which_values_survive_and_why(make_customer):
    make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(
        code="DUP", first_name="Ada", last_name="Obi", email="ada@example.com", gender="female"
    )

    output = rapport("merge", "KEEP", "DUP", "--dry-run")

    plan = [line.split() for line in output.splitlines() if line.startswith("  customers")]
    assert plan == [[
        "customers", "gender", "take", "duplicate's", "—", "/", "female", "The", "survivor", "has",
        "none",
    ]]  # fmt: skip


def test_merge_refuses_without_yes_when_no_one_can_answer(twins):
    before = counts()

    with pytest.raises(CommandError) as error:
        rapport("merge", "KEEP", "DUP")

    assert str(error.value) == (
        "Not merged: no terminal to confirm at; add --yes to merge without asking"
    )
    assert counts() == before


def test_merge_asks_at_a_terminal_and_merges_on_yes(twins):
    output = rapport("merge", "KEEP", "DUP", stdin=Terminal("y\n"))

    record = CustomerMerge.objects.get()
    assert output.splitlines()[-1] == (
        f"Merged DUP into KEEP (merge {record.uuid}). To undo: rapport merge --undo {record.uuid}"
    )
    assert (record.survivor.code, record.duplicate.code) == ("KEEP", "DUP")
    assert record.merged_by == "system:cli"
    assert find_customer(record.tenant, "DUP").code == "KEEP"
    assert Note.objects.get(content="Allergic to penicillin").customer.code == "KEEP"


@pytest.mark.parametrize("answer", ["n\n", "\n", "maybe\n", ""])
def test_merge_at_a_terminal_does_nothing_unless_the_answer_is_yes(twins, answer):
    before = counts()

    with pytest.raises(CommandError, match=r"^Not merged: not confirmed$"):
        rapport("merge", "KEEP", "DUP", stdin=Terminal(answer))

    assert counts() == before


def test_an_override_reason_merges_without_enough_evidence_and_is_kept(twins):
    rapport("merge", "KEEP", "STRANGER", "--yes", "--override-reason", " Same person, new name ")

    merge = CustomerMerge.objects.get()
    assert (merge.duplicate.code, merge.survivor.code) == ("STRANGER", "KEEP")
    assert merge.score < 0.8
    assert merge.override_reason == "Same person, new name"


def test_merge_with_yes_merges_without_asking(twins):
    rapport("merge", "KEEP", "DUP", "--yes", stdin=Terminal(""))

    duplicate = Customer.objects.get(code="DUP")
    assert duplicate.merged_into.code == "KEEP"
    assert duplicate.is_archived
    assert CustomerMerge.objects.get().merged_by == "system:cli"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["KEEP", "NOPE"], "No customer with code 'NOPE' (duplicate: Unknown code)"),
        (["NOPE", "DUP"], "No customer with code 'NOPE' (survivor: Unknown code)"),
        (["KEEP", "KEEP"], "A customer cannot be merged into itself"),
        (
            ["KEEP", "STRANGER"],
            "Not enough evidence that STRANGER and KEEP are one person (score 0.00, a merge "
            "needs 0.80); to merge them anyway, say why with --override-reason",
        ),
        (["KEEP"], "Give the survivor's code and the duplicate's code, or --undo MERGE_ID"),
        ([], "Give the survivor's code and the duplicate's code, or --undo MERGE_ID"),
        (["KEEP", "DUP", "--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
        (["KEEP", "DUP", "--undo", "x"], "Give either SURVIVOR DUPLICATE or --undo MERGE_ID"),
        (["KEEP", "DUP", "--overwrite"], "unrecognized arguments: --overwrite"),
    ],
)
def test_merge_rejects_bad_input_in_one_line_and_writes_nothing(twins, args, message):
    before = counts()

    with pytest.raises(CommandError) as error:
        rapport("merge", *args, "--yes")

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert counts() == before


def test_a_merged_customer_cannot_be_merged_again(twins, make_customer):
    make_customer(code="THIRD", first_name="Ada", last_name="Obi", email="ada@example.com")
    rapport("merge", "KEEP", "DUP", "--yes")
    before = counts()

    with pytest.raises(CommandError, match=r"^DUP was already merged into KEEP$"):
        rapport("merge", "THIRD", "DUP", "--yes")
    with pytest.raises(CommandError, match=r"^DUP was already merged into KEEP$"):
        rapport("merge", "DUP", "THIRD", "--dry-run")

    assert counts() == before


def test_another_tenants_customers_are_unknown(other_tenant, twins):
    with pytest.raises(CommandError, match="No customer with code 'KEEP'"):
        rapport("merge", "KEEP", "DUP", "--tenant", "other-shop", "--yes")

    assert not CustomerMerge.objects.exists()


# --- undo ----------------------------------------------------------------------------------


@pytest.fixture
def merged(twins, system_actor):
    return MergeService.merge(actor=system_actor, survivor="KEEP", duplicate="DUP")


def test_undo_separates_the_customers_again(merged):
    output = rapport("merge", "--undo", str(merged.uuid), "--yes")

    merged.refresh_from_db()
    assert output.splitlines()[-1] == "Undone: DUP and KEEP are separate customers again."
    assert merged.undone_by == "system:cli"
    assert Customer.objects.get(code="DUP").merged_into is None
    assert Note.objects.get(content="Allergic to penicillin").customer.code == "DUP"


def test_undo_asks_at_a_terminal_and_refuses_without_anyone_to_ask(merged):
    with pytest.raises(CommandError, match=r"^Not undone: no terminal to confirm at"):
        rapport("merge", "--undo", str(merged.uuid))
    with pytest.raises(CommandError, match=r"^Not undone: not confirmed$"):
        rapport("merge", "--undo", str(merged.uuid), stdin=Terminal("no\n"))
    assert Customer.objects.get(code="DUP").merged_into.code == "KEEP"

    rapport("merge", "--undo", str(merged.uuid), stdin=Terminal("yes\n"))

    assert Customer.objects.get(code="DUP").merged_into is None


def test_a_merge_cannot_be_undone_twice(merged):
    rapport("merge", "--undo", str(merged.uuid), "--yes")
    before = counts()

    with pytest.raises(CommandError, match=r"^This merge was already undone, by system:cli at "):
        rapport("merge", "--undo", str(merged.uuid), "--yes")

    assert counts() == before


def test_undo_refuses_while_a_later_merge_depends_on_it(merged, make_customer):
    make_customer(code="THIRD", first_name="Ada", last_name="Obi", email="ada@example.com")
    rapport("merge", "THIRD", "KEEP", "--yes")
    before = counts()

    with pytest.raises(CommandError) as error:
        rapport("merge", "--undo", str(merged.uuid), "--yes")

    assert str(error.value).startswith(
        "The merge cannot be undone: The later merge of KEEP into THIRD must be undone first"
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--undo", "not-a-uuid"], "No merge with that id"),
        (["--undo", "8d0c1c2e-0000-4000-8000-000000000000"], "No merge with that id"),
        (["--undo", "MERGE", "--dry-run"], "--dry-run and --override-reason are about a merge"),
        (["--undo", "MERGE", "--override-reason", "x"], "--override-reason are about a merge"),
    ],
)
def test_undo_rejects_bad_input(merged, args, message):
    args = [str(merged.uuid) if arg == "MERGE" else arg for arg in args]

    with pytest.raises(CommandError, match=message):
        rapport("merge", *args, "--yes")

    assert counts()["undone"] == 0


def test_undo_finds_no_merge_of_another_tenant(other_tenant, merged):
    with pytest.raises(CommandError, match=r"^No merge with that id$"):
        rapport("merge", "--undo", str(merged.uuid), "--tenant", "other-shop", "--yes")

    merged.refresh_from_db()
    assert merged.undone_at is None


# --- the real command, in a terminal and without one -----------------------------------------


def run(*args: str, env: dict, stdin=None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RAPPORT, *args], capture_output=True, text=True, env=env, stdin=stdin, timeout=timeout
    )


def in_a_terminal(args: list[str], answer: bytes, env: dict) -> tuple[int, str]:
    """Run `rapport` with a pseudo-terminal as stdin, and type `answer` for its prompt."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*RAPPORT, *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(terminal)
    os.write(controller, answer)  # the terminal holds it until the prompt reads it
    stdout, stderr = process.communicate(timeout=60)
    os.close(controller)
    return process.returncode, stdout.decode() + stderr.decode()


def test_the_command_exits_non_zero_without_a_terminal_and_merges_at_one(tmp_path):
    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    assert run("migrate", "--verbosity", "0", env=env).returncode == 0
    setup = (
        "from rapport.customers.services import CustomerService;"
        "from rapport.tenancy.actors import Actor;"
        "from rapport.tenancy.services import TenantService;"
        "actor = Actor.for_system(TenantService.get_default(), 'tests');"
        "[CustomerService.create_customer(actor=actor, code=code, first_name='Ada',"
        " last_name='Obi', email='ada@example.com') for code in ('KEEP', 'DUP')]"
    )
    assert run("shell", "--command", setup, env=env).returncode == 0
    count = (
        "from rapport.identity.models import CustomerMerge; print(CustomerMerge.objects.count())"
    )

    refused = run("merge", "KEEP", "DUP", env=env, stdin=subprocess.DEVNULL)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "CommandError: Not merged: no terminal to confirm at; add --yes to merge without asking"
    ]
    assert run("shell", "--command", count, env=env).stdout.strip().endswith("0")

    status, output = in_a_terminal(["merge", "KEEP", "DUP"], b"y\n", env)
    assert status == 0, output
    assert "Merge DUP into KEEP? [y/N]" in output
    assert "Merged DUP into KEEP (merge " in output
    assert run("shell", "--command", count, env=env).stdout.strip().endswith("1")


@pytest.mark.parametrize("args", [["duplicates"], ["merge", "KEEP", "DUP", "--yes"]])
def test_without_the_identity_app_the_command_says_so(tmp_path, args):
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
        "CommandError: The identity app is not installed: add rapport.identity to INSTALLED_APPS to use this"
    ]
