"""The core works with none of the optional apps installed (identity, consent, preferences,
privacy, loyalty, commerce, pets, ingest, insights): it migrates, serves customers, and has no
routes of the missing apps. Segments, which needs only the core, works beside it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_core_runs_without_the_optional_apps(tmp_path):
    # Given rapport's settings less the optional apps, on a database of its own
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.core_alone",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)

    # When it migrates and a customer is created and read through the API
    result = subprocess.run(
        [sys.executable, "-m", "tests.core_alone"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then the core answers, and the optional apps' routes are not there
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["statuses"] == {
        "create": 201,
        "detail": 200,
        "timeline": 200,
        "consents": 404,
        "unsubscribe page": 404,
        "segment preview": 200,
    }
    # Only the default segment whose fields the core has: the others need orders and insights.
    assert answer["segments"] == ["new-customers"]
    assert "/api/v1/customers/{code}" in answer["paths"]
    optional = (
        "consent",
        "preference",
        "identifier",
        "merge",
        "duplicate",
        "erase",
        "export",
        "loyalty",
        "order",
        "visit",
        "pet",
        "import",
        "inbound",
        "/customers/{code}/activity",
    )
    assert [path for path in answer["paths"] if any(word in path for word in optional)] == []
