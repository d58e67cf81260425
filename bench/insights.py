"""`python -m bench.insights`: the full insight recalculation at 100,000 and 1,000,000 customers.

Creates a PostgreSQL database for each size (dropped at the end, unless --keep-database or
--reuse, which measures again on databases an earlier run filled) and fills it in SQL, a
template row cloned with generate_series: customers, then about ten orders each (a purchase count per
customer from a geometric-like draw, the orders spread over the customer's own active span
within two years, one to three lines each from a small catalogue). It times, in this process
and on one connection:

- `InsightService.recalculate_all` at each size: the fit over the whole tenant, then every
  chunk (reads, vectorized metrics and scores, one upsert), with one chunk broken down;
- the per-customer loop seed 001 describes (for each customer: read their orders, work out
  their metrics, save), as `InsightService.recalculate` one customer after the other, on a
  sample, extrapolated to all customers;
- segment counts at the largest size, when the segments app is installed.

Prints a table and rewrites docs/BENCHMARKS-insights.md.
"""

import argparse
import datetime as dt
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from rich.console import Console
from rich.table import Table

from bench.__main__ import database_name, scratch_database
from bench.machine import Machine, describe

# Each size gets a database of this name with the size after it (rapport_bench_insights_100000).
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rapport_bench_insights"
ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = (
    ("Flat white", "coffee", 250_000),
    ("Espresso", "coffee", 180_000),
    ("Croissant", "bakery", 220_000),
    ("Banana bread", "bakery", 300_000),
    ("Jollof rice", "food", 450_000),
    ("Chapman", "drinks", 200_000),
    ("Beans 250 g", "retail", 900_000),
    ("Gift card", "retail", 1_000_000),
)

console = Console(width=160)


@dataclass
class Size:
    customers: int
    orders: int = 0
    lines: int = 0
    load_seconds: float = 0.0
    fit_seconds: float = 0.0
    chunks_seconds: float = 0.0
    chunks: int = 0
    method: str = ""
    method_reason: str = ""
    parameters: dict = field(default_factory=dict)
    breakdown: dict[str, float] = field(default_factory=dict)
    loop_sample: int = 0
    loop_seconds: float = 0.0
    segments: list[tuple[str, int, float]] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return self.fit_seconds + self.chunks_seconds

    @property
    def loop_extrapolated(self) -> float:
        return self.loop_seconds / self.loop_sample * self.customers if self.loop_sample else 0.0


@dataclass
class Result:
    machine: Machine
    sizes: list[Size]
    mean_orders: float
    chunk_size: int
    seed: float
    arguments: list[str] = field(default_factory=list)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.insights", description=__doc__)
    parser.add_argument(
        "--sizes",
        default="100000,1000000",
        help="Customer counts to measure, ascending (default 100000,1000000)",
    )
    parser.add_argument("--mean-orders", type=float, default=10.0, help="Orders per customer")
    parser.add_argument("--loop-sample", type=int, default=500, help="Customers in the loop")
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--seed", type=float, default=0.42, help="PostgreSQL setseed value")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_INSIGHTS_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"PostgreSQL database to create and drop (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="Do not drop the databases at the end"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Measure on a size's database an earlier --keep-database run filled (and keep it)",
    )
    parser.add_argument(
        "--output", default=str(ROOT / "docs" / "BENCHMARKS-insights.md"), help="Markdown page"
    )
    return parser.parse_args(argv)


def _columns(model, overrides: dict[str, str]) -> tuple[str, str]:
    """The insert column list and the SELECT list copying the template row `t`."""
    names, values = [], []
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        if column == "id":
            continue
        names.append(f'"{column}"')
        values.append(overrides.get(column, f't."{column}"'))
    return ", ".join(names), ", ".join(values)


def synthesize(tenant, first: int, count: int, mean_orders: float, seed: float) -> None:
    """Customers first … first+count-1 with their orders and lines, cloned in SQL."""
    from django.db import connection, transaction

    from rapport.commerce.models import Order, OrderLine
    from rapport.customers.models import Customer

    template_customer, template_order = _templates(tenant, first)
    customers = Customer._meta.db_table
    orders, lines = Order._meta.db_table, OrderLine._meta.db_table
    catalogue = ", ".join(
        f"({i}, '{name}', '{category}', {price})"
        for i, (name, category, price) in enumerate(CATALOGUE)
    )
    customer_names, customer_values = _columns(
        Customer,
        {
            "code": "'B' || lpad(g::text, 8, '0')",
            "first_name": "'Customer ' || g",
            "created_at": "now() - interval '800 days' * random()",
        },
    )
    order_names, order_values = _columns(
        Order,
        {
            "uuid": "gen_random_uuid()",
            "customer_id": "o.customer_id",
            "external_id": "o.external_id",
            "placed_at": "o.placed_at",
            "completed_at": "o.placed_at",
            "created_at": "o.placed_at",
            "updated_at": "o.placed_at",
            "total_q": "o.total_q",
        },
    )
    line_names, line_values = _columns(
        OrderLine,
        {
            "order_id": "x.id",
            "position": "l.n",
            "name": "k.name",
            "category": "k.category",
            "sku": "'SKU-' || k.i",
            "quantity": "1",
            "unit_price_q": "k.price",
            "total_q": "k.price",
        },
    )
    statements = [
        ("SELECT setseed(%s)", [seed]),
        (
            f'INSERT INTO "{customers}" ({customer_names}) SELECT {customer_values} '
            f'FROM "{customers}" t, generate_series(%s, %s) g WHERE t.id = %s',
            [first, first + count - 1, template_customer.pk],
        ),
        # Per customer: how many purchase days, from when, and over what share of the time since.
        (
            "CREATE TEMPORARY TABLE bench_buyers AS SELECT c.id AS customer_id, c.code, "
            "1 + floor(-ln(1 - random()) * %s)::int AS purchases, "
            "now() - interval '730 days' * random() AS started, random() AS span "
            f'FROM "{customers}" c WHERE c.tenant_id = %s AND c.code BETWEEN %s AND %s',
            [mean_orders - 1, tenant.pk, f"B{first:08d}", f"B{first + count - 1:08d}"],
        ),
        (
            "CREATE TEMPORARY TABLE bench_orders AS SELECT b.customer_id, "
            "b.code || '-' || n AS external_id, "
            "b.started + (now() - b.started) * b.span * random() AS placed_at, "
            "1 + floor(random() * 3)::int AS line_count "
            "FROM bench_buyers b, generate_series(1, b.purchases) n",
            [],
        ),
        (
            "CREATE TEMPORARY TABLE bench_catalogue (i int, name text, category text, "
            f"price bigint); INSERT INTO bench_catalogue VALUES {catalogue}",
            [],
        ),
        (
            "CREATE TEMPORARY TABLE bench_lines AS SELECT o.external_id, n, "
            "floor(random() * %s)::int AS pick FROM bench_orders o, "
            "generate_series(1, o.line_count) n",
            [len(CATALOGUE)],
        ),
        (
            "CREATE TEMPORARY TABLE bench_totals AS SELECT l.external_id, sum(k.price) AS total "
            "FROM bench_lines l JOIN bench_catalogue k ON k.i = l.pick GROUP BY l.external_id",
            [],
        ),
        (
            f'INSERT INTO "{orders}" ({order_names}) SELECT {order_values} FROM (SELECT '
            "b.*, s.total AS total_q FROM bench_orders b JOIN bench_totals s USING "
            f'(external_id)) o, "{orders}" t WHERE t.id = %s',
            [template_order.pk],
        ),
        (
            f'INSERT INTO "{lines}" ({line_names}) SELECT {line_values} FROM bench_lines l '
            f'JOIN "{orders}" x ON x.external_id = l.external_id AND x.source = %s '
            f'AND x.tenant_id = %s JOIN bench_catalogue k ON k.i = l.pick, "{lines}" t '
            "WHERE t.order_id = %s",
            ["bench", tenant.pk, template_order.pk],
        ),
        ("DROP TABLE bench_buyers, bench_orders, bench_catalogue, bench_lines, bench_totals", []),
    ]
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
        # The ORM's delete, which follows the templates' timeline entries and events.
        Customer.objects.filter(pk__in=[template_customer.pk, template_order.customer_id]).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _templates(tenant, first: int):
    """A customer and an order (of a customer of its own) to clone; deleted once cloned."""
    from rapport.commerce.services import LineInput, OrderInput, OrderService
    from rapport.customers.services import CustomerService
    from rapport.tenancy.actors import Actor

    actor = Actor.for_system(tenant, "bench")
    customer = CustomerService.create_customer(
        actor=actor, code=f"TEMPLATE-{first}", first_name="Template"
    )
    owner = CustomerService.create_customer(
        actor=actor, code=f"TEMPLATE-OWNER-{first}", first_name="Template"
    )
    order = OrderInput(
        customer=owner,
        external_id=f"TEMPLATE-{first}",
        placed_at=dt.datetime.now(dt.UTC),
        lines=(LineInput(name="Template", unit_price_q=100),),
        source="bench",
    )
    return customer, OrderService.record_order(actor=actor, order=order).order


def measure_recalculation(size: Size, tenant) -> None:
    """Time recalculate_all, and one chunk's reads, metrics and write apart."""
    from django.db import transaction

    from rapport.insights import history, recalculation, writing
    from rapport.insights.scoring import patterns
    from rapport.insights.services import InsightService
    from rapport.tenancy.actors import Actor

    actor = Actor.for_system(tenant, "bench")
    started = time.perf_counter()
    fitted_at = []
    original = recalculation.start_run

    def timed_start(**kwargs):
        started = original(**kwargs)
        fitted_at.append(time.perf_counter())
        return started

    recalculation.start_run = timed_start
    try:
        run = InsightService.recalculate_all(actor=actor)
    finally:
        recalculation.start_run = original
    finished = time.perf_counter()
    size.fit_seconds = fitted_at[0] - started
    size.chunks_seconds = finished - fitted_at[0]
    size.chunks = run.chunks_total
    size.method, size.method_reason = run.method, run.method_reason
    size.parameters = run.parameters

    chunk = recalculation.plan_chunks(tenant, run.customers_total // max(run.chunks_total, 1))[0]
    scope = history.CustomerRange(tenant, chunk.first, chunk.last)
    steps = {}
    moment = time.perf_counter()
    orders = history.read_orders(scope, as_of=run.as_of, past=False)
    steps["read orders"] = time.perf_counter() - moment
    moment = time.perf_counter()
    visits = history.read_visits(scope, as_of=run.as_of, is_emergency=patterns.is_emergency_service)
    messages = history.read_messages(scope, as_of=run.as_of)
    steps["read visits and messages"] = time.perf_counter() - moment
    moment = time.perf_counter()
    history.read_favourites(scope, as_of=run.as_of, keep=3)
    steps["read favourite products and categories"] = time.perf_counter() - moment
    moment = time.perf_counter()
    ids = recalculation._customer_ids(scope)
    columns = recalculation.chunk_columns(run, ids, orders, visits, messages)
    columns["preferred_products"] = [[] for _ in ids]
    columns["preferred_categories"] = [[] for _ in ids]
    steps["metrics and scores (numpy)"] = time.perf_counter() - moment
    moment = time.perf_counter()
    with transaction.atomic():
        writing.upsert(columns, recalculation._constants(run))
        transaction.set_rollback(True)
    steps["upsert"] = time.perf_counter() - moment
    size.breakdown = {f"{name} ({chunk.size:,} customers)": value for name, value in steps.items()}


def measure_loop(size: Size, tenant, sample: int) -> None:
    """Seed 001's way: one customer after the other, each read and saved on its own."""
    from rapport.customers.models import Customer
    from rapport.insights.services import InsightService
    from rapport.tenancy.actors import Actor

    actor = Actor.for_system(tenant, "bench")
    codes = list(
        Customer.objects.filter(tenant=tenant).order_by("?").values_list("code", flat=True)[:sample]
    )
    started = time.perf_counter()
    for code in codes:
        InsightService.recalculate(actor=actor, customer_code=code)
    size.loop_seconds = time.perf_counter() - started
    size.loop_sample = len(codes)


def measure_segments(size: Size, tenant) -> None:
    """Count every segment of the tenant (the defaults at least), each in one query."""
    from django.apps import apps

    if not apps.is_installed("rapport.segments"):
        return
    from rapport.segments.models import Segment
    from rapport.segments.services import SegmentService

    SegmentService.list_segments(tenant=tenant)  # creates the defaults on first use
    for segment in Segment.objects.filter(tenant=tenant).order_by("name"):
        started = time.perf_counter()
        count = SegmentService.count(segment=segment)
        size.segments.append((segment.name, count, time.perf_counter() - started))


def database_for(args: argparse.Namespace, customers: int) -> str:
    """Each size has a database of its own: the URL's name with the size after it."""
    return f"{args.database_url}_{customers}"


def has_customers(url: str, customers: int) -> bool:
    """True when the size's database is there, filled by an earlier --keep-database run."""
    try:
        with psycopg.connect(url) as existing:
            row = existing.execute("SELECT count(*) FROM rapport_customers_customer").fetchone()
    except psycopg.Error:
        return False
    return row[0] == customers


def use_database(url: str) -> None:
    """Point Django's connection at the size's database."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = urlsplit(url).path.lstrip("/")


def measure_size(args: argparse.Namespace, customers: int, *, filled: bool) -> Size:
    """Fill the size's database (unless it is `filled` already) and measure on it."""
    from django.core.management import call_command
    from django.db import connection

    from rapport.tenancy.services import TenantService

    size = Size(customers)
    use_database(database_for(args, customers))
    call_command("migrate", verbosity=0)
    tenant = TenantService.get_default()
    if not filled:
        console.print(f"synthesizing {customers:,} customers…")
        started = time.perf_counter()
        synthesize(tenant, 1, customers, args.mean_orders, args.seed)
        size.load_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rapport_commerce_order")
        size.orders = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM rapport_commerce_orderline")
        size.lines = cursor.fetchone()[0]
    console.print(f"recalculating {customers:,} customers, {size.orders:,} orders…")
    measure_recalculation(size, tenant)
    console.print(f"  {size.total_seconds:.1f} s; the per-customer loop on a sample…")
    measure_loop(size, tenant, args.loop_sample)
    return size


def run(args: argparse.Namespace) -> Result:
    sizes = [int(text) for text in args.sizes.split(",")]
    if sizes != sorted(sizes) or sizes[0] < 1:
        raise SystemExit("--sizes must be ascending positive counts")
    os.environ["DATABASE_URL"] = database_for(args, sizes[0])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from rapport.tenancy.services import TenantService

    settings.RAPPORT_INSIGHTS_CHUNK_SIZE = args.chunk_size
    results = []
    with ExitStack() as databases:
        for customers in sizes:
            url = database_for(args, customers)
            filled = args.reuse and has_customers(url, customers)
            if filled:
                console.print(f"reusing {url.rsplit('/', 1)[-1]!r}: {customers:,} customers")
            else:
                keep = args.keep_database or args.reuse
                databases.enter_context(scratch_database(url, keep=keep, label="insights"))
            results.append(measure_size(args, customers, filled=filled))
        measure_segments(results[-1], TenantService.get_default())
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        connection.close()
    return Result(
        describe(version), results, args.mean_orders, args.chunk_size, args.seed, args.arguments
    )


def _seconds(value: float) -> str:
    return f"{value:,.1f}"


def rows(result: Result) -> list[tuple[str, ...]]:
    table = []
    for size in result.sizes:
        table.append(
            (
                f"{size.customers:,}",
                f"{size.orders:,}",
                _seconds(size.fit_seconds),
                _seconds(size.chunks_seconds),
                _seconds(size.total_seconds),
                f"{size.customers / size.total_seconds:,.0f}",
                f"{size.loop_sample:,} in {_seconds(size.loop_seconds)}",
                _seconds(size.loop_extrapolated),
                f"{size.loop_extrapolated / size.total_seconds:,.0f}x",
            )
        )
    return table


HEADERS = (
    "customers",
    "orders",
    "fit s",
    "chunks s",
    "total s",
    "customers/s",
    "loop sample",
    "loop, all s (extrapolated)",
    "speed-up",
)


def print_table(result: Result) -> None:
    table = Table(title="recalculate_all on PostgreSQL")
    for header in HEADERS:
        table.add_column(header, justify="right")
    for row in rows(result):
        table.add_row(*row)
    console.print(table)
    for size in result.sizes:
        console.print(f"{size.customers:,}: {size.method} ({size.method_reason})")


GOAL_SECONDS = 60


def goal_lines(result: Result) -> list[str]:
    """How the largest size compares with the goal: a million customers in under a minute."""
    largest = result.sizes[-1]
    if largest.customers < 1_000_000:
        verdict = "not measured at that size"
    else:
        verdict = "met" if largest.total_seconds < GOAL_SECONDS else "not met"
    return [
        "### Against the goal",
        "",
        f"The goal is a full recalculation of 1,000,000 customers in under {GOAL_SECONDS} s "
        f"on this machine: {verdict} here, {largest.total_seconds:,.1f} s for "
        f"{largest.customers:,}. The run is one process on one connection, chunk after chunk; "
        "each chunk's time is mostly PostgreSQL's (reading the lines of its orders through "
        "their index, and writing its rows with their indexes), on the server's default "
        "configuration. Two `rapport worker` processes share a background run's chunks.",
    ]


def markdown(result: Result) -> str:
    machine = result.machine
    lines = [
        "# Insight recalculation benchmark",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with "
        f"`python -m bench.insights {' '.join(result.arguments)}`.",
        "",
        __doc__.split("\n\n", 1)[1].strip(),
        "",
        "## Machine",
        "",
        *machine.markdown_lines(),
        "## Results",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---:|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(result)]
    lines += [
        "",
        f"Chunks of {result.chunk_size:,} customers. The fit reads the tenant's orders (a chunk "
        "of customers at a time) and fits both models; each chunk takes its customers' orders "
        "from that read (a background chunk reads its own: the first step below), reads their "
        "visits, messages and favourite products, works out every metric with numpy and "
        "writes them in one statement. The loop is `InsightService.recalculate` called for "
        "one customer after the other (several queries and one write each), on a random "
        "sample, extrapolated.",
        "",
        "### One chunk, step by step",
        "",
        "| size | step | seconds |",
        "|---|---|---:|",
    ]
    for size in result.sizes:
        for step, seconds in size.breakdown.items():
            lines.append(f"| {size.customers:,} | {step} | {seconds:.2f} |")
    lines += ["", *goal_lines(result), "", "### The models", ""]
    for size in result.sizes:
        lines.append(f"- {size.customers:,} customers: `{size.method}`: {size.method_reason}.")
        for name, values in size.parameters.items():
            if isinstance(values, dict):
                shown = ", ".join(
                    f"{key} = {value:.4g}"
                    for key, value in values.items()
                    if isinstance(value, float)
                )
                lines.append(f"  - {name}: {shown}")
    largest = result.sizes[-1]
    if largest.segments:
        lines += [
            "",
            f"### Segment counts at {largest.customers:,} customers",
            "",
            "| segment | customers | ms |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {name} | {count:,} | {seconds * 1000:.0f} |"
            for name, count, seconds in largest.segments
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.arguments = argv
    database_name(args.database_url)  # refuses a database the tool may not touch
    result = run(args)
    print_table(result)
    Path(args.output).write_text(markdown(result), encoding="utf-8")
    console.print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
