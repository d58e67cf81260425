"""The benchmark's results as a terminal table and as docs/BENCHMARKS.md."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.load import Result
from bench.machine import Machine


@dataclass(frozen=True)
class Run:
    """Everything one benchmark run measured."""

    command: str
    customers: int
    seed: int
    workers: int
    threads: int
    requests: int
    deep_page: int
    migrate_seconds: float
    demo_seconds: float
    analyze_seconds: float
    walk_seconds: float
    row_counts: dict[str, int]
    database_size: str
    demo_summary: str
    results: list[Result]
    marketable: int  # customers opted in to email: the consent lines' audience
    machine: Machine
    finished_at: dt.datetime


def print_table(run: Run, console: Console) -> None:
    table = Table(title=f"rapport API on {run.customers:,} customers")
    for column in ("request", "requests", "errors", "p50 ms", "p99 ms", "mean ms", "req/s"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for result in run.results:
        table.add_row(
            result.name,
            f"{result.requests:,}",
            str(result.errors),
            f"{result.p50_ms:.1f}",
            f"{result.p99_ms:.1f}",
            f"{result.mean_ms:.1f}",
            f"{result.per_second:,.0f}",
        )
    console.print(table)
    console.print(
        f"load: migrate {run.migrate_seconds:.1f} s, demo {run.demo_seconds:.1f} s, "
        f"analyze {run.analyze_seconds:.1f} s; database {run.database_size}; "
        f"walk to page {run.deep_page:,}: {run.walk_seconds:.1f} s "
        f"({run.walk_seconds / max(run.deep_page - 1, 1) * 1000:.1f} ms a page)"
    )


def markdown(run: Run) -> str:
    machine = run.machine
    rows = "\n".join(
        f"| `{r.name}` | {r.requests:,} | {r.errors} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
        f"| {r.mean_ms:.1f} | {r.per_second:,.0f} |"
        for r in run.results
    )
    counts = "\n".join(f"| {table} | {count:,} |" for table, count in run.row_counts.items())
    microseconds_per_customer = run.demo_seconds / run.customers * 1_000_000
    page_ms = run.walk_seconds / max(run.deep_page - 1, 1) * 1000
    return f"""# Benchmarks

How fast rapport loads a million customers into PostgreSQL, and how fast its API answers
with that many on file. `make bench` runs it all and rewrites this page
(`make bench BENCH_ARGS="--customers 20000"` for a quick trial). It creates its own
database (default `rapport_bench`), and drops it at the end.

## Results

Run {run.finished_at:%Y-%m-%d %H:%M} UTC, {run.customers:,} customers (seed {run.seed}),
`rapport serve` with {run.workers} gunicorn workers, {run.threads} client threads on the
same machine, {run.requests:,} requests per line after a warm-up.

| request | requests | errors | p50 ms | p99 ms | mean ms | requests/s |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}

The deep page is page {run.deep_page:,} of the default listing (newest first, 50 a page),
reached by following `next_cursor` from the first page; that walk took
{run.walk_seconds:.1f} s, {page_ms:.1f} ms a page, one request after another.

### Loading the data

| step | seconds |
| --- | ---: |
| `rapport migrate` (empty database) | {run.migrate_seconds:.1f} |
| `rapport demo --customers {run.customers}` | {run.demo_seconds:.1f} |
| `VACUUM ANALYZE` | {run.analyze_seconds:.1f} |

That is {microseconds_per_customer:.0f} µs a customer with everything attached. Database size
afterwards: {run.database_size}.

| table | rows |
| --- | ---: |
{counts}

`rapport demo` said: {run.demo_summary}

## Machine

| | |
| --- | --- |
| CPU | {machine.cpu_model} |
| cores | {machine.cores} |
| memory | {machine.memory_gib:.1f} GiB |
| OS | {machine.os} |
| PostgreSQL | {machine.postgresql} (default configuration, same machine) |
| Python | {machine.python} |
| load average | {machine.load_average:.2f} over the last minute of measuring |

Command:

```
{run.command}
```

## How it is measured

- `rapport demo` writes its rows with PostgreSQL `COPY`, a batch of customers per
  transaction, with every index in place, as a real first import would.
- The server is `rapport serve` (gunicorn sync workers, `DEBUG` off, access log to a file),
  on 127.0.0.1 on a free port; the clients are Python threads using `http.client` with
  keep-alive, and an API key with the `read` scope. Client, server and database share the
  machine's cores (and with whatever else runs there: see the load average), so the
  numbers are a floor, not what a dedicated server would do.
- `GET /api/v1/customers/{{code}}` asks for customers picked at random from all of them
  (the demo's codes follow from its seed); every answer is the full customer with tags,
  addresses, contact points and the referral count.
- Latency is measured per request at the client, from sending to the last byte read;
  requests/s is the number of requests over the wall time of the whole line.
- The consent lines read the email audience: the {run.marketable:,} live customers opted in
  to email (the demo gives consents with their history). `GET /api/v1/consents/marketable`
  is its first page of 50 codes, by code. The two in-process lines run in the benchmark's own
  process, on one connection, after one untimed run each, before the server starts: the
  selector's count, and `ConsentService.get_marketable_customers`, which fetches every code,
  sorted, as a campaign send would; their "requests" are calls.

Finding duplicate customers is measured on its own, by `python -m bench.duplicates`:
see [BENCHMARKS-duplicates.md](BENCHMARKS-duplicates.md).

Loyalty earning under concurrent clients is measured on its own, by `python -m bench.loyalty`:
see [BENCHMARKS-loyalty.md](BENCHMARKS-loyalty.md).

Ingesting orders, a million from a CSV file and in bulk through the API, is measured on its
own, by `python -m bench.orders`: see [BENCHMARKS-orders.md](BENCHMARKS-orders.md).
"""


def write_markdown(run: Run, path: Path) -> None:
    path.write_text(markdown(run))
