"""A dispatcher killed mid-batch loses nothing: its leases expire and another one finishes."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.events.conftest import start_receiver

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 8


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}")
        time.sleep(0.05)


def deliveries(database: Path) -> dict[str, int]:
    with sqlite3.connect(database, timeout=10) as connection:
        rows = connection.execute(
            "SELECT status, COUNT(*) FROM rapport_events_webhookdelivery GROUP BY status"
        ).fetchall()
    return dict(rows)


def test_a_dispatcher_killed_mid_batch_is_replaced_and_nothing_is_lost(tmp_path):
    # Given a slow receiver, and rapport on an SQLite file with EVENTS events for it
    receiver = start_receiver(delay=0.2)
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
        "RAPPORT_WEBHOOK_ALLOW_PRIVATE": "true",
        "RAPPORT_WEBHOOK_LEASE": "3",
        "RAPPORT_WEBHOOK_TIMEOUT": "0.4",
    }
    env.pop("DATABASE_URL", None)
    database = tmp_path / "rapport.sqlite3"
    first = subprocess.Popen(
        [sys.executable, "-m", "tests.events.crash_dispatcher", receiver.url, str(EVENTS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    second = None
    try:
        # When the dispatcher is killed after a few deliveries, in the middle of its batch
        wait_for(lambda: len(receiver.requests) >= 2 or first.poll() is not None, 60, "requests")
        assert first.poll() is None, first.stderr.read().decode()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert deliveries(database).get("pending", 0) > 0

        # And another one starts
        second = subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "dispatch", "--interval", "0.1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        # Then, once the dead one's leases ran out, every delivery ends delivered
        wait_for(lambda: deliveries(database) == {"delivered": EVENTS}, 60, "every delivery")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        receiver.server.shutdown()
        receiver.server.server_close()

    # And every event reached the receiver at least once (a repeat is allowed, same webhook-id)
    with sqlite3.connect(database) as connection:
        ids = {row[0] for row in connection.execute("SELECT uuid FROM rapport_events_outboxevent")}
    received = [request.headers["webhook-id"] for request in receiver.requests]
    assert {uuid.replace("-", "") for uuid in received} == {uuid.replace("-", "") for uuid in ids}
    assert len(received) >= EVENTS
