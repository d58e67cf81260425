"""`python -m bench`: load N demo customers into PostgreSQL and benchmark the customer API.

Creates (and at the end drops) its own database, times `rapport migrate` and `rapport demo`,
times the email audience (`ConsentService.get_marketable_customers`) in this process, serves
the API with `rapport serve` on a free loopback port, measures a bounded number of requests,
prints a table and rewrites docs/BENCHMARKS.md.
"""

import argparse
import datetime as dt
import os
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from rich.console import Console

from bench.load import Client, Result, measure, percentile
from bench.machine import describe
from bench.report import Run, print_table, write_markdown
from rapport.demo.generator import customer_code

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rapport_bench"
# Databases this tool must never create or drop, whatever the URL says.
PROTECTED_DATABASES = {"rapport", "test", "postgres", "template0", "template1", "root"}
ROOT = Path(__file__).resolve().parent.parent
TABLES = {
    "customers": "rapport_customers_customer",
    "tags on customers": "rapport_customers_customertag",
    "notes": "rapport_customers_note",
    "addresses": "rapport_customers_customeraddress",
    "timeline events": "rapport_timeline_timelineevent",
    "consents": "rapport_consent_communicationconsent",
    "consent changes": "rapport_consent_consentchange",
}
MARKETABLE_PATH = "/api/v1/consents/marketable?channel=email"

console = Console()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to create and drop (default $DATABASE_URL or {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--requests", type=int, default=2_000, help="requests per benchmark line")
    parser.add_argument("--deep-page", type=int, default=1_000, help="page number of the deep page")
    parser.add_argument(
        "--audience-runs",
        type=int,
        default=5,
        help="timed in-process reads of the email audience, after one untimed",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="Do not rewrite the output file")
    parser.add_argument("--keep-database", action="store_true", help="Do not drop it at the end")
    args = parser.parse_args(argv)
    for name in (
        "customers", "batch_size", "workers", "threads", "requests", "deep_page", "audience_runs",
    ):  # fmt: skip
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def database_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"bench needs a PostgreSQL URL, not {parts.scheme!r}")
    name = parts.path.lstrip("/")
    if not name or name in PROTECTED_DATABASES or "bench" not in name:
        raise SystemExit(
            f"bench creates and drops its database; {name!r} is not one it may touch "
            "(use a name containing 'bench', e.g. rapport_bench)"
        )
    return name


def admin_connection(url: str) -> psycopg.Connection:
    """A connection to the server's `postgres` database, for CREATE and DROP DATABASE."""
    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or None,
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


def rapport(*args: str, env: dict[str, str], capture: bool = False) -> tuple[float, str]:
    """Run a `rapport` command; (seconds it took, its stdout when captured)."""
    command = [sys.executable, "-c", "from rapport.cli import main; main()", *args]
    began = time.perf_counter()
    completed = subprocess.run(
        command, env=env, check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return time.perf_counter() - began, (completed.stdout or "").strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(port: int, api_key: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"rapport serve exited with {server.returncode}")
        client = Client(port, api_key)
        try:
            if client.get("/api/v1/customers?limit=1")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            client.close()
    raise SystemExit(f"rapport serve did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "RAPPORT_DATA_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
    }
    env.pop("RAPPORT_DEBUG", None)
    try:
        with scratch_database(args.database_url, keep=args.keep_database, label="bench") as pg:
            run = benchmark(args, argv, env, workdir, pg)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(run, console)
    if not args.no_write:
        write_markdown(run, args.output)
        console.print(
            f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
        )
    return 0


@contextmanager
def scratch_database(url: str, *, keep: bool, label: str) -> Iterator[str]:
    """A new, empty PostgreSQL database at `url` for one benchmark, dropped at the end unless
    `keep`. Yields the server's version."""
    name = database_name(url)
    with admin_connection(url) as admin:
        version = admin.execute("SHOW server_version").fetchone()[0]
        admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")
        admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    console.print(f"[bold]{label}[/]: database {name!r} on PostgreSQL {version}")
    try:
        yield version
    finally:
        if not keep:
            with admin_connection(url) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
            console.print(f"dropped database {name!r}")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def benchmark(
    args: argparse.Namespace, argv: list[str], env: dict[str, str], workdir: Path, postgresql: str
) -> Run:
    console.print("migrating…")
    migrate_seconds, _ = rapport("migrate", "--verbosity", "0", env=env)
    console.print(f"loading {args.customers:,} demo customers…")
    demo_seconds, demo_output = rapport(
        "demo",
        "--customers", str(args.customers),
        "--seed", str(args.seed),
        "--batch-size", str(args.batch_size),
        env=env,
        capture=True,
    )  # fmt: skip
    console.print(demo_output)
    with psycopg.connect(args.database_url, autocommit=True) as connection:
        began = time.perf_counter()
        connection.execute("VACUUM ANALYZE")
        analyze_seconds = time.perf_counter() - began
        row_counts = {
            label: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for label, table in TABLES.items()
        }
        database_size = connection.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()[0]
    console.print("timing the email audience in-process…")
    audience, marketable = time_audience(env, args.audience_runs)
    _, api_key = rapport(
        "createapikey", "--name", "bench", "--scopes", "read", "--quiet", env=env, capture=True
    )

    port = free_port()
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable, "-c", "from rapport.cli import main; main()",
            "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers), "--no-access-log",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until_serving(port, api_key, server, timeout=60)
        console.print(f"serving on 127.0.0.1:{port} with {args.workers} workers; measuring…")
        results, deep_page, walk_seconds = measure_all(args, port, api_key)
    finally:
        stop(server)
        log.close()
    return Run(
        command=shlex.join([".venv/bin/python", "-m", "bench", *argv]) if argv else "make bench",
        customers=args.customers,
        seed=args.seed,
        workers=args.workers,
        threads=args.threads,
        requests=args.requests,
        deep_page=deep_page,
        migrate_seconds=migrate_seconds,
        demo_seconds=demo_seconds,
        analyze_seconds=analyze_seconds,
        walk_seconds=walk_seconds,
        row_counts=row_counts,
        database_size=database_size,
        demo_summary=demo_output,
        results=[*results, *audience],
        marketable=marketable,
        machine=describe(postgresql),
        finished_at=dt.datetime.now(dt.UTC),
    )


def timed(name: str, call: Callable[[], object], runs: int) -> Result:
    """Call `call` once untimed, then `runs` times timed, in this process."""
    call()
    milliseconds = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        milliseconds.append((time.perf_counter() - began) * 1000)
    values = sorted(milliseconds)
    return Result(
        name=name,
        requests=runs,
        errors=0,
        p50_ms=percentile(values, 0.50),
        p99_ms=percentile(values, 0.99),
        mean_ms=statistics.fmean(values),
        per_second=runs / (sum(values) / 1000),
    )


def time_audience(env: dict[str, str], runs: int) -> tuple[list[Result], int]:
    """Time the email audience in this process: its count, and every code as campaigns read it.

    Returns the two results and the audience's size.
    """
    for name in ("DATABASE_URL", "RAPPORT_DATA_DIR", "DJANGO_SETTINGS_MODULE"):
        os.environ[name] = env[name]
    os.environ.pop("RAPPORT_DEBUG", None)
    import django

    django.setup()
    from django.db import connections

    from rapport.consent import selectors
    from rapport.consent.services import ConsentService
    from rapport.tenancy.services import TenantService

    tenant = TenantService.get_default()
    try:
        marketable = selectors.marketable_customers(tenant=tenant, channel="email").count()
        codes = ConsentService.get_marketable_customers(tenant=tenant, channel="email")
        if len(codes) != marketable or not marketable:
            raise SystemExit(f"the email audience has {len(codes):,} codes, counted {marketable:,}")
        results = [
            timed(
                'consent.selectors.marketable_customers(channel="email").count() (in-process)',
                lambda: selectors.marketable_customers(tenant=tenant, channel="email").count(),
                runs,
            ),
            timed(
                f'ConsentService.get_marketable_customers(channel="email") '
                f"(in-process, {marketable:,} codes)",
                lambda: ConsentService.get_marketable_customers(tenant=tenant, channel="email"),
                runs,
            ),
        ]
    finally:
        connections.close_all()
    return results, marketable


def measure_all(args: argparse.Namespace, port: int, api_key: str):
    picker = random.Random(args.seed)
    codes = [
        customer_code(args.seed, picker.randrange(args.customers))
        for _ in range(min(args.requests, 10_000))
    ]
    detail = measure(
        "GET /api/v1/customers/{code}",
        port=port,
        api_key=api_key,
        paths=lambda i: f"/api/v1/customers/{codes[i % len(codes)]}",
        requests=args.requests,
        threads=args.threads,
    )
    first_page = measure(
        "GET /api/v1/customers?limit=50",
        port=port,
        api_key=api_key,
        paths=lambda i: "/api/v1/customers?limit=50",
        requests=args.requests,
        threads=args.threads,
    )
    # Archived customers (2% of the demo) are not listed: aim below the last page.
    deep_page = max(2, min(args.deep_page, args.customers * 9 // 10 // 50))
    client = Client(port, api_key)
    cursor = None
    began = time.perf_counter()
    for _ in range(deep_page - 1):
        query = "/api/v1/customers?limit=50" + (f"&cursor={quote(cursor)}" if cursor else "")
        cursor = client.get_json(query)["next_cursor"]
        if cursor is None:
            raise SystemExit("ran out of pages before the deep page")
    walk_seconds = time.perf_counter() - began
    client.close()
    deep_path = f"/api/v1/customers?limit=50&cursor={quote(cursor)}"
    deep = measure(
        f"GET /api/v1/customers?limit=50&cursor=… (page {deep_page:,})",
        port=port,
        api_key=api_key,
        paths=lambda i: deep_path,
        requests=args.requests,
        threads=args.threads,
    )
    audience_page = measure(
        f"GET {MARKETABLE_PATH}",
        port=port,
        api_key=api_key,
        paths=lambda i: MARKETABLE_PATH,
        requests=args.requests,
        threads=args.threads,
    )
    return [detail, first_page, deep, audience_page], deep_page, walk_seconds


if __name__ == "__main__":
    sys.exit(main())
