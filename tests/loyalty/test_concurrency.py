"""Writers racing on one account with real threads: on PostgreSQL, and on an SQLite file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.loyalty import races

ROOT = Path(__file__).resolve().parents[2]

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share the in-memory SQLite test database"
)


@pytest.fixture
def racer(tenant, make_customer):
    from rapport.tenancy.actors import Actor

    make_customer(code="RACE-1", first_name="Race")
    return Actor.for_system(tenant, "race")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_fifty_threads_earning_and_redeeming_leave_a_sound_ledger(racer):
    races.assert_sound(races.earns_and_redeems(racer, "RACE-1"))


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_threads_redeeming_with_one_reference_redeem_once(racer):
    races.assert_one_reference(races.one_reference(racer, "RACE-1"))


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_threads_earning_for_someone_new_open_one_account(racer):
    races.assert_first_earnings(races.first_earnings(racer, "RACE-1"))


def test_the_same_races_on_an_sqlite_file_database(tmp_path):
    # Given rapport on an SQLite file of its own, as a shop runs it (WAL, IMMEDIATE writers)
    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env["DJANGO_SETTINGS_MODULE"] = "rapport.settings"
    env.pop("DATABASE_URL", None)

    # When the races run there with real threads
    result = subprocess.run(
        [sys.executable, "-m", "tests.loyalty.sqlite_race"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    # Then every race leaves the ledger as it must
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcomes["vendor"] == "sqlite"
    races.assert_sound(outcomes["earns_and_redeems"])
    races.assert_one_reference(outcomes["one_reference"])
    races.assert_first_earnings(outcomes["first_earnings"])
