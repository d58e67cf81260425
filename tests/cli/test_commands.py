"""The `rapport` command's own doors: createapikey, check, migrate and serve."""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.management import CommandError, call_command

from rapport.tenancy.models import ApiKey
from rapport.tenancy.services import ApiKeyService

RAPPORT = [sys.executable, "-m", "rapport.cli"]


def run_rapport(*args: str, env: dict | None = None, timeout: int = 60):
    """Run `rapport` in a child process on its own SQLite database."""
    environment = {**os.environ, **(env or {})}
    environment.pop("DATABASE_URL", None)
    return subprocess.run(
        [*RAPPORT, *args], capture_output=True, text=True, env=environment, timeout=timeout
    )


def test_createapikey_prints_a_working_secret_once(tenant):
    out = io.StringIO()
    call_command("createapikey", "--name", "till", "--scopes", "read", "--quiet", stdout=out)
    secret = out.getvalue().strip()
    api_key = ApiKeyService.authenticate(secret)
    assert api_key is not None
    assert api_key.name == "till"
    assert api_key.scopes == ["read"]
    assert secret not in api_key.key_hash


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scopes", "root"], "Unknown scopes"),
        (["--scopes", ""], "at least one scope"),
        (["--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
        (["--user", "ghost"], "No user named 'ghost'"),
    ],
)
def test_createapikey_rejects_bad_arguments_and_writes_nothing(tenant, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("createapikey", *args)
    assert ApiKey.objects.count() == 0


def test_bad_arguments_exit_non_zero_with_one_line(tmp_path):
    env = {"RAPPORT_DATA_DIR": str(tmp_path)}
    assert run_rapport("migrate", "--verbosity", "0", env=env, timeout=120).returncode == 0
    result = run_rapport("createapikey", "--scopes", "root", env=env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CommandError: The API key is not valid (scopes: Unknown scopes ['root']; use read, write or admin)"
    ]


def test_a_database_that_was_never_migrated_gets_a_one_line_hint(tmp_path):
    result = run_rapport("createapikey", env={"RAPPORT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "rapport: the database is not ready (no such table: rapport_tenancy_tenant); "
        "run `rapport migrate`"
    ]


def test_production_profile_passes_the_deploy_check(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "rapport.settings_production",
        "RAPPORT_SECRET_KEY": "k" * 20 + "-production-secret-" + "z" * 30,
        "ALLOWED_HOSTS": "crm.example.com",
        "RAPPORT_DATA_DIR": str(tmp_path),
    }
    result = run_rapport("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    assert "WARNINGS" not in result.stderr
    assert "ERRORS" not in result.stderr


def test_production_profile_refuses_to_start_without_a_secret_key(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "rapport.settings_production",
        "ALLOWED_HOSTS": "crm.example.com",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_SECRET_KEY": "",
    }
    result = run_rapport("check", env=env)
    assert result.returncode != 0
    assert "RAPPORT_SECRET_KEY must be set" in result.stderr


def test_the_development_settings_fail_the_deploy_check(tmp_path):
    result = run_rapport(
        "check", "--deploy", "--fail-level", "WARNING", env={"RAPPORT_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_migrate_then_serve_answers_over_http(tmp_path):
    env = {"RAPPORT_DATA_DIR": str(tmp_path)}
    migrated = run_rapport("migrate", "--verbosity", "0", env=env, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    secret = run_rapport("createapikey", "--quiet", env=env).stdout.strip()
    port = _free_port()
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment.update(env)
    server = subprocess.Popen(
        [*RAPPORT, "serve", "--port", str(port), "--workers", "1"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/customers",
            headers={"Authorization": f"Bearer {secret}"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = response.read()
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status == 200
        assert body.startswith(b'{"items":[]')
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_deploy_check_reports_what_production_still_lacks(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "rapport.settings_production",
        "RAPPORT_SECRET_KEY": "0123456789abcdefghij" * 3,
        "ALLOWED_HOSTS": "crm.example.com",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "EMAIL_URL": "",
    }
    result = run_rapport("check", "--deploy", env=env)
    assert result.returncode == 0
    assert "rapport.I001" in result.stderr  # SQLite
    assert "rapport.I002" in result.stderr  # no EMAIL_URL
    assert "WARNINGS" not in result.stderr
