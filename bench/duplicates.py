"""`python -m bench.duplicates`: time duplicate finding on N demo customers in PostgreSQL.

Creates (and at the end drops) its own database, loads demo customers with the demo
generator, injects a known number of near-duplicates (a typo in the name with the same phone,
the same email with the name's words swapped, the same Instagram handle, the same name and
address), times DuplicateService.find_duplicates and duplicates_of, reports the recall on the
injected pairs, prints a table and rewrites docs/BENCHMARKS-duplicates.md.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.__main__ import scratch_database
from bench.machine import Machine, describe

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rapport_bench_dups"
ROOT = Path(__file__).resolve().parent.parent
KINDS = ("phone + name typo", "email + words swapped", "instagram handle", "name + address")

console = Console()


@dataclass
class Result:
    customers: int
    injected: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    mergeable: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    pairs_reported: int = 0
    compared: int = 0
    oversized: list[tuple[str, int]] = field(default_factory=list)
    min_score: float = 0.0
    merge_threshold: float = 0.0
    machine: Machine | None = None
    command: str = ""
    when: str = ""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.duplicates", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--duplicates", type=int, default=1_000, help="near-duplicates to inject")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--min-score", type=float, default=0.6)
    parser.add_argument("--samples", type=int, default=50, help="duplicates_of calls to time")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to create and drop (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS-duplicates.md")
    parser.add_argument("--no-write", action="store_true", help="Do not rewrite the output file")
    parser.add_argument("--keep-database", action="store_true", help="Do not drop it at the end")
    args = parser.parse_args(argv)
    if args.customers < 10 or not 1 <= args.duplicates <= args.customers // 2:
        parser.error("need --customers of at least 10 and 1 <= --duplicates <= customers / 2")
    return args


def typo(word: str, rng: random.Random) -> str:
    """One slip of the finger: two letters swapped, or one dropped or doubled."""
    if len(word) < 4:
        return word + word[-1]
    index = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:index] + word[index + 1] + word[index] + word[index + 2 :]
    if kind == 1:
        return word[:index] + word[index + 1 :]
    return word[:index] + word[index] + word[index:]


def inject(tenant, count: int, rng: random.Random) -> list[tuple[int, int, str]]:
    """Near-duplicates of randomly chosen customers: (original pk, duplicate pk, kind)."""
    from rapport.customers.models import Customer, CustomerAddress
    from rapport.customers.services import generate_code

    live = Customer.objects.filter(tenant=tenant).exclude(first_name="").exclude(last_name="")
    originals = list(
        live.order_by("?").prefetch_related("addresses")[: count * 3]
    )  # enough to find each kind's prerequisites
    plans: list[tuple[Customer, str]] = []
    wanted = {kind: count // len(KINDS) + (i < count % len(KINDS)) for i, kind in enumerate(KINDS)}
    for customer in originals:
        for kind in KINDS:
            if not wanted[kind]:
                continue
            has = {
                "phone + name typo": bool(customer.phone),
                "email + words swapped": bool(customer.email),
                "instagram handle": bool(customer.instagram_handle),
                "name + address": bool(customer.addresses.all()),
            }[kind]
            if has:
                plans.append((customer, kind))
                wanted[kind] -= 1
                break
    copies, addresses = [], []
    for customer, kind in plans:
        copy = Customer(
            tenant=tenant,
            code=generate_code(),
            first_name=customer.first_name,
            last_name=customer.last_name,
            source="bench",
        )
        if kind == "phone + name typo":
            copy.phone = customer.phone
            copy.last_name = typo(customer.last_name, rng)
        elif kind == "email + words swapped":
            copy.email = customer.email
            copy.first_name, copy.last_name = customer.last_name, customer.first_name
        elif kind == "instagram handle":
            copy.instagram_handle = customer.instagram_handle
            copy.first_name = typo(customer.first_name, rng)
        else:
            copy.last_name = typo(customer.last_name, rng)
        copies.append(copy)
    Customer.objects.bulk_create(copies, batch_size=1000)
    for (customer, kind), copy in zip(plans, copies, strict=True):
        if kind == "name + address":
            address = customer.addresses.all()[0]
            addresses.append(
                CustomerAddress(
                    tenant=tenant,
                    customer=copy,
                    line1=address.line1,
                    city=address.city,
                    country=address.country,
                    is_default=True,
                )
            )
    CustomerAddress.objects.bulk_create(addresses, batch_size=1000)
    return [
        (customer.pk, copy.pk, kind) for (customer, kind), copy in zip(plans, copies, strict=True)
    ]


def run(args: argparse.Namespace, postgresql: str) -> Result:
    import django

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    from django.core.management import call_command

    from rapport.demo.loader import load_demo
    from rapport.identity import conf
    from rapport.identity.services import DuplicateService
    from rapport.tenancy.services import TenantService

    result = Result(customers=args.customers, min_score=args.min_score)
    result.merge_threshold = conf.MERGE_THRESHOLD
    call_command("migrate", verbosity=0)
    tenant = TenantService.get_default()
    began = time.perf_counter()
    load_demo(tenant=tenant, customers=args.customers, seed=args.seed)
    result.timings["load demo data"] = time.perf_counter() - began
    console.print(f"loaded {args.customers:,} demo customers")

    rng = random.Random(args.seed)
    injected = inject(tenant, args.duplicates, rng)
    for _, _, kind in injected:
        result.injected[kind] = result.injected.get(kind, 0) + 1
    console.print(f"injected {len(injected):,} near-duplicates")

    # The bench wants every pair, not the API's page of them.
    conf.DUPLICATES_LIMIT = 10**9
    began = time.perf_counter()
    report = DuplicateService.find_duplicates(
        tenant=tenant, min_score=args.min_score, limit=conf.DUPLICATES_LIMIT
    )
    result.timings["find_duplicates (whole tenant)"] = time.perf_counter() - began
    result.pairs_reported = len(report.pairs)
    result.compared = report.compared
    result.oversized = [(block.key, block.size) for block in report.oversized]
    scores = {
        (min(pair.first.pk, pair.second.pk), max(pair.first.pk, pair.second.pk)): pair.score
        for pair in report.pairs
    }
    for original, copy, kind in injected:
        score = scores.get((min(original, copy), max(original, copy)))
        if score is not None:
            result.found[kind] = result.found.get(kind, 0) + 1
            if score >= conf.MERGE_THRESHOLD:
                result.mergeable[kind] = result.mergeable.get(kind, 0) + 1

    from rapport.customers.models import Customer

    codes = dict(
        Customer.objects.filter(pk__in=[c for _, c, _ in injected]).values_list("pk", "code")
    )
    sample = rng.sample(injected, min(args.samples, len(injected)))
    durations = []
    for _, copy, _ in sample:
        began = time.perf_counter()
        DuplicateService.duplicates_of(tenant=tenant, code=codes[copy], min_score=args.min_score)
        durations.append(time.perf_counter() - began)
    result.timings["duplicates_of (one customer, median)"] = statistics.median(durations)
    result.timings["duplicates_of (one customer, max)"] = max(durations)
    return result


def print_table(result: Result) -> None:
    table = Table(title=f"Duplicates on {result.customers:,} customers")
    table.add_column("Injected kind")
    table.add_column("Injected", justify="right")
    table.add_column(f"Found (score ≥ {result.min_score})", justify="right")
    table.add_column("Recall", justify="right")
    table.add_column(f"Mergeable (≥ {result.merge_threshold})", justify="right")
    for kind, count, found, recall, mergeable in rows(result):
        table.add_row(kind, str(count), str(found), recall, str(mergeable))
    console.print(table)
    timings = Table(title="Timings")
    timings.add_column("Step")
    timings.add_column("Seconds", justify="right")
    for name, seconds in result.timings.items():
        timings.add_row(name, f"{seconds:.3f}")
    console.print(timings)
    console.print(
        f"{result.compared:,} candidate pairs scored, {result.pairs_reported:,} reported, "
        f"{len(result.oversized)} oversized blocks"
    )


def rows(result: Result) -> list[tuple[str, int, int, str, int]]:
    table = []
    for kind in (*KINDS, "all"):
        if kind == "all":
            count, found = sum(result.injected.values()), sum(result.found.values())
            mergeable = sum(result.mergeable.values())
        else:
            count, found = result.injected.get(kind, 0), result.found.get(kind, 0)
            mergeable = result.mergeable.get(kind, 0)
        recall = f"{found / count:.1%}" if count else "-"
        table.append((kind, count, found, recall, mergeable))
    return table


def markdown(result: Result) -> str:
    machine = result.machine
    lines = [
        "# Duplicate finding benchmark",
        "",
        f"Measured {result.when} with `{result.command}`.",
        "",
        "The tool creates its own PostgreSQL database, loads demo customers with the demo "
        "generator, injects near-duplicates of randomly chosen customers and times "
        "`DuplicateService.find_duplicates` over the whole tenant, then `duplicates_of` for "
        "single customers. Recall is the share of injected pairs reported at or above the "
        "minimum score.",
        "",
        "## Machine",
        "",
    ]
    if machine is not None:
        lines += machine.markdown_lines()
    lines += [
        "## Recall on injected near-duplicates",
        "",
        f"| Injected kind | Injected | Found (score ≥ {result.min_score}) | Recall "
        f"| Mergeable (score ≥ {result.merge_threshold}) |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, count, found, recall, mergeable in rows(result):
        lines.append(f"| {kind} | {count} | {found} | {recall} | {mergeable} |")
    lines += ["", "## Timings", "", "| Step | Seconds |", "|---|---:|"]
    for name, seconds in result.timings.items():
        lines.append(f"| {name} | {seconds:.3f} |")
    lines += [
        "",
        f"{result.compared:,} candidate pairs were scored (never all "
        f"{result.customers * (result.customers - 1) // 2:,} pairs); "
        f"{result.pairs_reported:,} pairs were reported at score ≥ {result.min_score}.",
        "",
        f"{len(result.oversized)} blocking keys were shared by too many customers to compare "
        "pair by pair and were reported instead"
        + (
            ": the largest were "
            + ", ".join(f"`{key}` ({size})" for key, size in result.oversized[:5])
            + "."
            if result.oversized
            else "."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    label = "bench.duplicates"
    with scratch_database(args.database_url, keep=args.keep_database, label=label) as postgresql:
        try:
            result = run(args, postgresql)
        finally:
            from django.db import connections

            connections.close_all()
    result.machine = describe(postgresql)
    result.command = "python -m bench.duplicates " + " ".join(argv)
    result.when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print_table(result)
    if not args.no_write:
        args.output.write_text(markdown(result))
        console.print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
