"""`python -m bench.orders`: orders ingested per second on PostgreSQL, by CSV and by the API.

Creates (and at the end drops) its own database and loads demo customers into it (by default
100,000, with `rapport demo`). Imports a CSV file of new customers with the code `rapport
import customers` runs, then a CSV file of a million orders for the demo customers (10 each,
found by email or phone) as `rapport import orders` does: chunks of 5,000 rows, customers found
a chunk at a time, `OrderService.record_orders` with publish off. Then the same orders file
again (nothing to create). Last, it posts orders to `POST /api/v1/orders/bulk`, 10,000 a call,
through Django's test client in this process. Prints a table and rewrites
docs/BENCHMARKS-orders.md.
"""

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.__main__ import scratch_database
from bench.machine import Machine, describe

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rapport_bench_orders"
ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = [
    ("Jollof rice", "FOOD-001", "food", 2500),
    ("Chapman", "DRINK-002", "drinks", 1200),
    ("Suya", "FOOD-003", "food", 3000),
    ("Zobo", "DRINK-004", "drinks", 800),
    ("Puff-puff", "SNACK-005", "snacks", 500),
]
FIRST_NAMES = ["Ada", "Bola", "Chi", "Dayo", "Efe", "Femi", "Gbenga", "Halima", "Ife", "Jide"]
LAST_NAMES = ["Obi", "Adeyemi", "Okafor", "Bello", "Eze", "Musa", "Nwosu", "Balogun"]

console = Console(width=160)


@dataclass
class Step:
    name: str
    rows: int
    records: int  # customers or orders
    seconds: float
    created: int = 0
    unchanged: int = 0
    errors: int = 0
    note: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class Result:
    customers: int
    orders: int
    chunk_rows: int
    demo_seconds: float = 0.0
    order_customers: int = 0
    steps: list[Step] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    csv_sizes: dict[str, int] = field(default_factory=dict)
    database_size: str = ""
    machine: Machine | None = None
    command: str = ""
    when: str = ""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.orders", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, default=100_000, help="demo customers")
    parser.add_argument(
        "--new-customers", type=int, default=10_000, help="customers in the customers CSV"
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the CSV file")
    parser.add_argument("--chunk-rows", type=int, default=5_000, help="rows per transaction")
    parser.add_argument("--bulk-calls", type=int, default=10, help="calls to the bulk endpoint")
    parser.add_argument(
        "--bulk-size",
        type=int,
        default=5_000,
        help="orders per bulk call (10,000 is a body over Django's 2.5 MB default limit)",
    )
    parser.add_argument("--no-reimport", action="store_true", help="Skip the second import")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to create and drop (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS-orders.md")
    parser.add_argument("--no-write", action="store_true", help="Do not rewrite the output file")
    parser.add_argument("--keep-database", action="store_true", help="Do not drop it at the end")
    args = parser.parse_args(argv)
    for name in ("customers", "new_customers", "orders", "chunk_rows", "bulk_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.bulk_calls < 0 or args.bulk_size > 10_000:
        parser.error("--bulk-calls must be 0 or more and --bulk-size at most 10000")
    return args


def write_customers(path: Path, count: int, picker: random.Random) -> None:
    """New people: emails and phones no demo customer has."""
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("First name,Last name,E-mail,Mobile,Tags\n")
        for number in range(count):
            file.write(
                f"{picker.choice(FIRST_NAMES)},{picker.choice(LAST_NAMES)},"
                f"new{number}@bench.example.com,+23480{90_000_000 + number:08d},"
                f"{'VIP' if number % 10 == 0 else ''}\n"
            )


def demo_contacts() -> list[tuple[str, str]]:
    """(email, phone) of each live demo customer, by id: how the orders name them."""
    from rapport.customers.models import Customer

    return list(
        Customer.objects.filter(merged_into=None)
        .exclude(email="", phone="")
        .order_by("pk")
        .values_list("email", "phone")
    )


def write_orders(
    path: Path, count: int, contacts: list[tuple[str, str]], picker: random.Random
) -> None:
    """One row per order, as a point-of-sale export of receipts lists them."""
    start = dt.datetime(2024, 1, 1, 8, 0)
    span = 2 * 365 * 24 * 60  # two years of minutes
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("Receipt,Date,Email,Phone,Product,SKU,Category,Qty,Price,Channel\n")
        for number in range(count):
            name, sku, category, price_q = PRODUCTS[number % len(PRODUCTS)]
            placed = start + dt.timedelta(minutes=picker.randrange(span))
            email, phone = contacts[number % len(contacts)]
            file.write(
                f"R{number},{placed:%Y-%m-%dT%H:%M},{email},{'' if email else phone},{name},"
                f"{sku},{category},{1 + number % 3},{price_q / 100:.2f},"
                f"{'online' if number % 4 == 0 else 'pos'}\n"
            )


def timed_import(kind: str, path: Path, rows: int, chunk_rows: int, label: str):
    from rapport.ingest.csv.jobs import import_file
    from rapport.tenancy.actors import Actor
    from rapport.tenancy.services import TenantService

    actor = Actor.for_system(TenantService.get_default(), "bench")
    progress = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress, path.open("rb") as file:
        task = progress.add_task(label, total=rows, rate="")
        began = time.perf_counter()

        def advance(report) -> None:
            elapsed = time.perf_counter() - began
            progress.update(
                task,
                completed=report.processed_rows,
                rate=f"{report.processed_rows / elapsed:,.0f} rows/s" if elapsed else "",
            )

        report = import_file(
            actor=actor, kind=kind, file=file, chunk_rows=chunk_rows, on_chunk=advance
        )
        seconds = time.perf_counter() - began
    return report, seconds


def bulk_endpoint(args: argparse.Namespace, picker: random.Random) -> Step | None:
    """POST /api/v1/orders/bulk, `bulk_size` orders a call, through the test client."""
    if not args.bulk_calls:
        return None
    from django.test import Client

    from rapport.tenancy.services import ApiKeyService, TenantService

    _, secret = ApiKeyService.create_key(
        tenant=TenantService.get_default(), name="bench", scopes=["write"]
    )
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    contacts = [(email, phone) for email, phone in demo_contacts() if email]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    seconds = 0.0
    created = existing = 0
    for call in range(args.bulk_calls):
        orders = []
        for index in range(args.bulk_size):
            number = call * args.bulk_size + index
            name, sku, category, price_q = PRODUCTS[number % len(PRODUCTS)]
            placed = start + dt.timedelta(minutes=picker.randrange(2 * 365 * 24 * 60))
            orders.append(
                {
                    "external_id": f"A{number}",
                    "source": "bench-api",
                    "customer": {"email": contacts[number % len(contacts)][0]},
                    "placed_at": placed.isoformat(),
                    "lines": [
                        {
                            "name": name,
                            "sku": sku,
                            "category": category,
                            "quantity": 1 + number % 3,
                            "unit_price_q": price_q,
                        }
                    ],
                    "channel": "online" if number % 4 == 0 else "pos",
                }
            )
        body = json.dumps({"orders": orders})
        began = time.perf_counter()
        response = client.post("/api/v1/orders/bulk", body, content_type="application/json")
        seconds += time.perf_counter() - began
        if response.status_code != 200:
            console.print(
                f"[red]POST /api/v1/orders/bulk answered {response.status_code} to "
                f"{len(body):,} bytes: {response.content[:200]!r}[/]"
            )
            return Step(
                name=f"POST /api/v1/orders/bulk ({args.bulk_size:,} orders a call)",
                rows=0,
                records=0,
                seconds=0.0,
                errors=args.bulk_size,
                note=f"refused with {response.status_code} ({len(body):,}-byte body)",
            )
        answer = response.json()
        created += answer["created"]
        existing += answer["existing"]
        console.print(
            f"bulk call {call + 1}/{args.bulk_calls}: {args.bulk_size:,} orders, "
            f"{(call + 1) * args.bulk_size / seconds:,.0f} orders/s so far"
        )
    total = args.bulk_calls * args.bulk_size
    return Step(
        name=f"POST /api/v1/orders/bulk ({args.bulk_size:,} orders a call)",
        rows=total,
        records=total,
        seconds=seconds,
        created=created,
        unchanged=existing,
        note="demo customers by email; earn_points off",
    )


def run(args: argparse.Namespace, workdir: Path) -> Result:
    import django

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["RAPPORT_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    os.environ.pop("RAPPORT_DEBUG", None)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    result = Result(customers=args.customers, orders=args.orders, chunk_rows=args.chunk_rows)
    call_command("migrate", verbosity=0)
    console.print(f"loading {args.customers:,} demo customers…")
    began = time.perf_counter()
    call_command("demo", "--customers", str(args.customers), "--seed", str(args.seed))
    result.demo_seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    picker = random.Random(args.seed)
    customers_csv, orders_csv = workdir / "customers.csv", workdir / "orders.csv"
    console.print(f"writing {args.new_customers:,} customers and {args.orders:,} orders as CSV…")
    write_customers(customers_csv, args.new_customers, picker)
    contacts = demo_contacts()
    result.order_customers = len(contacts)
    write_orders(orders_csv, args.orders, contacts, picker)
    result.csv_sizes = {"customers.csv": customers_csv.stat().st_size}
    result.csv_sizes["orders.csv"] = orders_csv.stat().st_size

    report, seconds = timed_import(
        "customers", customers_csv, args.new_customers, args.chunk_rows, "importing customers"
    )
    result.steps.append(
        Step(
            name="CSV import of customers (rapport import customers)",
            rows=report.processed_rows,
            records=report.created + report.updated + report.unchanged,
            seconds=seconds,
            created=report.created,
            unchanged=report.unchanged,
            errors=report.error_rows,
            note="through CustomerService and identity, one row at a time",
        )
    )
    report, seconds = timed_import(
        "orders", orders_csv, args.orders, args.chunk_rows, "importing orders"
    )
    result.steps.append(
        Step(
            name="CSV import of orders (rapport import orders)",
            rows=report.processed_rows,
            records=report.created + report.updated + report.unchanged,
            seconds=seconds,
            created=report.created,
            unchanged=report.unchanged,
            errors=report.error_rows,
            note="customers found by email; record_orders(publish=False)",
        )
    )
    if not args.no_reimport:
        report, seconds = timed_import(
            "orders", orders_csv, args.orders, args.chunk_rows, "importing orders again"
        )
        result.steps.append(
            Step(
                name="The same orders file again",
                rows=report.processed_rows,
                records=report.created + report.updated + report.unchanged,
                seconds=seconds,
                created=report.created,
                unchanged=report.unchanged,
                errors=report.error_rows,
                note="every order already there: nothing written",
            )
        )
    for step in result.steps:
        console.print(f"{step.name}: {step.rows:,} rows in {step.seconds:.1f} s")
    step = bulk_endpoint(args, picker)
    if step is not None:
        result.steps.append(step)
    with connection.cursor() as cursor:
        for label, table in (
            ("customers", "rapport_customers_customer"),
            ("identifiers", "rapport_identity_customeridentifier"),
            ("orders", "rapport_commerce_order"),
            ("order lines", "rapport_commerce_orderline"),
            ("timeline events", "rapport_timeline_timelineevent"),
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            result.row_counts[label] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        result.database_size = cursor.fetchone()[0]
    return result


HEADERS = ("Step", "Rows", "Records", "Seconds", "Rows/s", "Records/s", "Created", "Errors")


def rows(result: Result) -> list[tuple[str, ...]]:
    return [
        (
            step.name,
            f"{step.rows:,}",
            f"{step.records:,}",
            f"{step.seconds:.1f}",
            f"{step.rows_per_second:,.0f}",
            f"{step.records_per_second:,.0f}",
            f"{step.created:,}",
            f"{step.errors:,}",
        )
        for step in result.steps
    ]


def print_table(result: Result) -> None:
    table = Table(title=f"Ingesting orders: {result.orders:,} by CSV, then by the bulk endpoint")
    for index, header in enumerate(HEADERS):
        table.add_column(header, justify="left" if index == 0 else "right")
    for row in rows(result):
        table.add_row(*row)
    console.print(table)
    console.print(f"database {result.database_size}; rows: {result.row_counts}")


def markdown(result: Result) -> str:
    lines = [
        "# Order ingestion benchmark",
        "",
        f"Measured {result.when} with `{result.command}`.",
        "",
        f"The tool creates its own PostgreSQL database, loads {result.customers:,} demo "
        f"customers into it with `rapport demo` ({result.demo_seconds:.0f} s, not counted "
        "below) and writes two CSV files: new customers (name, email, phone, a tag for one in "
        f"ten), and {result.orders:,} orders, one row each as a point-of-sale export lists "
        "receipts (receipt number, date, customer email or phone, product, SKU, category, "
        f"quantity, price, channel), spread over the {result.order_customers:,} demo customers "
        "that have an email or a phone, over two years. It imports them with the code "
        "`rapport import` runs, in the benchmark's own process on one connection, "
        f"{result.chunk_rows:,} rows a transaction:",
        "",
        "- customers: each row looked up by email and phone (a chunk at a time), then created "
        "through identity and `CustomerService` and tagged through `TagService`: an "
        "identifier, timeline entries and `customer.created` events each, one row after "
        "the other;",
        "- orders: each chunk's customers found in a few queries (identity's identifiers, then "
        "the customers' own email and phone), the orders written by "
        "`OrderService.record_orders(publish=False)`: history, so no loyalty points, timeline "
        "entries or events;",
        "- the same orders file again: every order is found and nothing is written;",
        "- then orders posted to `POST /api/v1/orders/bulk`, a batch a call, through Django's "
        "test client (the full request path: middleware, authentication, validation, the "
        "JSON answer), for demo customers by email, new order ids.",
        "",
        "## Machine",
        "",
    ]
    if result.machine is not None:
        lines += result.machine.markdown_lines()
    lines += [
        "## Results",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|---|" + "---:|" * (len(HEADERS) - 1),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(result)]
    sizes = ", ".join(
        f"{name} {size / 1024 / 1024:,.1f} MB" for name, size in result.csv_sizes.items()
    )
    counts = ", ".join(f"{label} {count:,}" for label, count in result.row_counts.items())
    lines += [
        "",
        f"Files: {sizes}. Afterwards: {counts}; database {result.database_size}.",
        "",
        "Rows/s counts CSV rows read (the import's progress bar shows the same); records/s "
        "the customers or orders they make. Times are wall-clock from opening the file to the "
        "last commit, including counting its rows first (a pass that also checks the whole "
        "file decodes before anything is written).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-orders-"))
    try:
        with scratch_database(
            args.database_url, keep=args.keep_database, label="bench.orders"
        ) as postgresql:
            try:
                result = run(args, workdir)
            finally:
                from django.db import connections

                connections.close_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.machine = describe(postgresql)
    result.command = " ".join(["python -m bench.orders", *argv])
    result.when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print_table(result)
    if not args.no_write:
        args.output.write_text(markdown(result))
        console.print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
