"""Recalculating a tenant's insights, set-based, in chunks that background tasks can share.

A run has three steps:
1. `start_run` fits the lifetime-value models to the whole tenant's history (one read of its
   orders) and keeps what every chunk must score alike: the parameters and the RFM monetary
   quintiles. The run is the model card.
2. `recalculate_chunk` works out a range of customers: a few reads (orders, visits, messages,
   favourite products and categories), vectorized metrics and scores, and one bulk upsert.
3. The chunk that finishes last completes the run.
No step runs a query per customer.
"""

import copy
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.insights import conf, history, metrics, writing
from rapport.insights.models import CustomerInsight, InsightRun, RunStatus
from rapport.insights.scoring import lifetime, patterns, rfm, score, thresholds
from rapport.tenancy.models import Tenant

DAY = metrics.DAY
FAVOURITES = 3


@contextmanager
def batch_transaction() -> Iterator[None]:
    """One transaction for a batch's reads and write: one snapshot, and on PostgreSQL the
    memory to sort and hash a chunk's rows without spilling to disk."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '256MB'")
                cursor.execute("SET LOCAL jit = off")
        yield


@dataclass(frozen=True)
class Chunk:
    """Customers of a run with ids in [first, last]."""

    first: int
    last: int
    size: int


def _as_of_day(tenant: Tenant, as_of: dt.datetime) -> int:
    wall = as_of.astimezone(zoneinfo.ZoneInfo(tenant.timezone)).replace(tzinfo=dt.UTC)
    return int(wall.timestamp()) // DAY


def _customer_ids(scope: history.CustomerRange) -> np.ndarray:
    rows = scope.filter(Customer.objects.filter(merged_into__isnull=True), field="id")
    return np.asarray(rows.order_by("id").values_list("id", flat=True), dtype=np.int64)


def plan_chunks(tenant: Tenant, size: int) -> list[Chunk]:
    """The tenant's customers cut into ranges of `size`, from one read of their ids."""
    ids = _customer_ids(history.CustomerRange(tenant))
    return [
        Chunk(int(part[0]), int(part[-1]), len(part))
        for part in (ids[start : start + size] for start in range(0, len(ids), size))
    ]


@dataclass(frozen=True)
class ModelInputs:
    """BG/NBD and Gamma-Gamma inputs of customers with orders, in the run's time unit."""

    x: np.ndarray  # repeat purchase occasions: purchase days minus one
    t_x: np.ndarray  # from the first purchase day to the last
    T: np.ndarray  # from the first purchase day to the history's end
    m: np.ndarray  # mean value of the repeat purchase days (NaN where x is 0)


def model_inputs(order_metrics: metrics.OrderMetrics, as_of_day: int, unit_days: float):
    """The models' inputs for the customers that bought; also which customers those are."""
    bought = order_metrics.total_orders > 0
    x = order_metrics.purchase_days[bought] - 1
    first_day = order_metrics.first_day[bought]
    repeat = order_metrics.repeat_spent_q[bought]
    m = np.divide(repeat, x, out=np.full(len(x), np.nan), where=x > 0)
    inputs = ModelInputs(
        x=x.astype(float),
        t_x=(order_metrics.last_day[bought] - first_day) / unit_days,
        T=(as_of_day - first_day) / unit_days,
        m=m,
    )
    return inputs, bought


@dataclass(frozen=True)
class Started:
    """A new run, and the tenant's orders its fit read (chunks worked out here reuse them)."""

    run: InsightRun
    orders: history.Orders


def start_run(
    *,
    tenant: Tenant,
    chunks: list[Chunk],
    as_of: dt.datetime | None = None,
    time_unit: str | None = None,
    horizon: int | None = None,
) -> Started:
    """A new run over `chunks`: the tenant's models fitted as of `as_of` (default now)."""
    now = timezone.now()
    past = as_of is not None and as_of < now
    as_of = as_of or now
    time_unit = time_unit or conf.time_unit()
    horizon = horizon or conf.horizon(time_unit)
    unit_days = conf.TIME_UNITS[time_unit]
    orders = read_orders_by_chunk(tenant, chunks, as_of=as_of, past=past)
    buyers = np.unique(orders.customer)
    order_metrics = metrics.order_metrics(buyers, orders)
    inputs, _ = model_inputs(order_metrics, _as_of_day(tenant, as_of), unit_days)
    card = fit_models(inputs)
    fitted_at = timezone.now()
    run = InsightRun.objects.create(
        tenant=tenant,
        # A tenant without customers has nothing left to do.
        status=RunStatus.RUNNING if chunks else RunStatus.COMPLETED,
        finished_at=None if chunks else fitted_at,
        as_of=as_of,
        started_at=now,
        customers_total=sum(chunk.size for chunk in chunks),
        chunks_total=len(chunks),
        time_unit=time_unit,
        horizon=horizon,
        monetary_edges=[int(edge) for edge in rfm.monetary_edges(order_metrics.total_spent_q)],
        fitted_at=fitted_at,
        **card,
    )
    return Started(run, orders)


def read_orders_by_chunk(
    tenant: Tenant, chunks: list[Chunk], *, as_of: dt.datetime, past: bool
) -> history.Orders:
    """The tenant's orders, read a chunk of customers at a time (a few large reads are faster
    than one huge one) and put together, still sorted by customer."""
    if not history.reads_commerce():
        return history.read_orders(history.CustomerRange(tenant), as_of=as_of, past=past)
    parts = []
    for chunk in chunks:
        with batch_transaction():
            scope = history.CustomerRange(tenant, chunk.first, chunk.last)
            parts.append(history.read_orders(scope, as_of=as_of, past=past))
    return history.Orders.joined(parts)


def fit_models(inputs: ModelInputs) -> dict:
    """The model card's fields: which method serves, why, and the fitted parameters."""
    model = lifetime.choose_method(inputs.x, inputs.t_x, inputs.T, inputs.m)
    return {
        "method": model.method,
        "method_reason": model.reason,
        "parameters": model.parameters(),
        "log_likelihood": model.log_likelihoods(),
        "customers_fitted": len(inputs.x),
    }


def model_of(run: InsightRun) -> lifetime.LifetimeModel:
    """The run's model card, as the predictions read it."""
    return lifetime.LifetimeModel.from_parameters(
        method=run.method,
        reason=run.method_reason,
        parameters=run.parameters,
        log_likelihoods=run.log_likelihood,
    )


def recalculate_chunk(
    run: InsightRun, chunk: Chunk, *, orders: history.Orders | None = None
) -> int:
    """Work out and write the insights of the chunk's customers; returns how many.

    `orders` are the tenant's, as the run's fit read them, when the chunk is worked out in the
    same process: its own are taken from them instead of read again.
    Safe to run twice: the second time rewrites the same rows and counts nothing again. The
    chunk that completes the run marks it completed.
    """
    scope = history.CustomerRange(run.tenant, chunk.first, chunk.last)
    mine = None if orders is None else orders.within(chunk.first, chunk.last)
    with batch_transaction():
        written = writing.upsert(scope_columns(run, scope, orders=mine), _constants(run))
        locked = InsightRun.objects.select_for_update().get(pk=run.pk)
        if chunk.first not in locked.finished_chunks:
            locked.finished_chunks.append(chunk.first)
            locked.chunks_done = len(locked.finished_chunks)
            locked.customers_done += written
            fields = ["finished_chunks", "chunks_done", "customers_done"]
            if locked.chunks_done >= locked.chunks_total and locked.status == RunStatus.RUNNING:
                locked.status = RunStatus.COMPLETED
                locked.finished_at = timezone.now()
                fields += ["status", "finished_at"]
            locked.save(update_fields=fields)
    return written


def recalculate_customer(
    run: InsightRun, customer: Customer, *, as_of: dt.datetime
) -> CustomerInsight:
    """Work out one customer's insight from their history up to `as_of` with the run's models
    (its fitted parameters and monetary fifths), counting nothing on the run."""
    scope = history.CustomerRange(run.tenant, customer.pk, customer.pk)
    moment = copy.copy(run)
    moment.as_of = moment.started_at = as_of
    with batch_transaction():
        writing.upsert(scope_columns(moment, scope), _constants(moment))
    return CustomerInsight.objects.select_related("run").get(customer=customer)


def fail_run(run: InsightRun, error: str) -> None:
    """Mark the run failed, saying why."""
    InsightRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def _constants(run: InsightRun) -> dict:
    return {
        "tenant_id": run.tenant_id,
        "run_id": run.pk,
        "as_of": run.as_of,
        "calculated_at": timezone.now(),
    }


def scope_columns(
    run: InsightRun, scope: history.CustomerRange, *, orders: history.Orders | None = None
) -> dict[str, list]:
    """Read the scope's history (a few queries) and work out every insight column."""
    customer_ids = _customer_ids(scope)
    if orders is None:
        past = run.as_of < run.started_at
        orders = history.read_orders(scope, as_of=run.as_of, past=past)
    visits = history.read_visits(scope, as_of=run.as_of, is_emergency=patterns.is_emergency_service)
    messages = history.read_messages(scope, as_of=run.as_of)
    columns = chunk_columns(run, customer_ids, orders, visits, messages)
    products, categories = history.read_favourites(scope, as_of=run.as_of, keep=FAVOURITES)
    columns["preferred_products"] = [products.get(id, []) for id in columns["customer_id"]]
    columns["preferred_categories"] = [categories.get(id, []) for id in columns["customer_id"]]
    return columns


def chunk_columns(
    run: InsightRun,
    customer_ids: np.ndarray,
    orders: history.Orders,
    visits: history.Visits,
    messages: history.Messages,
) -> dict[str, list]:
    """Every insight column of the customers, as lists aligned to `customer_ids`."""
    tenant = run.tenant
    count = len(customer_ids)
    as_of_day = _as_of_day(tenant, run.as_of)
    bought_metrics = metrics.order_metrics(customer_ids, orders)
    visit_metrics = metrics.visit_metrics(customer_ids, visits)
    message_metrics = metrics.message_metrics(
        customer_ids, messages, conf.response_window_days() * DAY
    )
    inputs, bought = model_inputs(bought_metrics, as_of_day, conf.TIME_UNITS[run.time_unit])
    total_orders = bought_metrics.total_orders
    spent = bought_metrics.total_spent_q

    days_since_order = np.where(bought, as_of_day - bought_metrics.last_day, -1)
    r = np.zeros(count, dtype=np.int64)
    f = np.zeros(count, dtype=np.int64)
    m = np.zeros(count, dtype=np.int64)
    r[bought] = rfm.recency_scores(days_since_order[bought])
    f[bought] = rfm.frequency_scores(total_orders[bought])
    m[bought] = rfm.monetary_scores(spent[bought], run.monetary_edges)
    codes = np.full(count, "", dtype=object)
    segments = np.full(count, "", dtype=object)
    groups = np.full(count, "", dtype=object)
    codes[bought] = rfm.rfm_codes(r[bought], f[bought], m[bought])
    segments[bought] = rfm.segments(r[bought], f[bought], m[bought])
    groups[bought] = rfm.groups(segments[bought])

    p_alive = np.full(count, np.nan)
    purchases = np.full(count, np.nan)
    value = np.full(count, np.nan)
    if bought.any():
        prediction = lifetime.predict(
            model_of(run),
            inputs.x,
            inputs.t_x,
            inputs.T,
            inputs.m,
            spent[bought] / total_orders[bought],
            horizon=run.horizon,
        )
        p_alive[bought] = prediction.p_alive
        purchases[bought] = prediction.predicted_purchases
        value[bought] = prediction.predicted_value_q

    last_visit_day = visit_metrics.last_day
    days_since_visit = np.where(last_visit_day >= 0, as_of_day - last_visit_day, -1)
    either = (days_since_order >= 0) & (days_since_visit >= 0)
    last_activity = np.where(
        either,
        np.minimum(days_since_order, days_since_visit),
        np.maximum(days_since_order, days_since_visit),
    )
    customer_score = score.customer_scores(
        last_activity,
        total_orders + visit_metrics.total_visits,
        spent,
        thresholds.score_thresholds_q(tenant.currency),
    )
    gaps = np.divide(
        bought_metrics.last_day - bought_metrics.first_day,
        bought_metrics.purchase_days - 1,
        out=np.full(count, np.nan),
        where=bought_metrics.purchase_days > 1,
    )
    average_ticket = np.divide(spent, total_orders, out=np.zeros(count), where=bought)
    sent = message_metrics.messages_sent
    answered = message_metrics.messages_responded
    has_p_alive = ~np.isnan(p_alive)
    return {
        "customer_id": customer_ids.tolist(),
        "total_orders": total_orders.tolist(),
        "total_spent_q": spent.tolist(),
        "average_ticket_q": np.rint(average_ticket).astype(np.int64).tolist(),
        "currency": [tenant.currency] * count,
        "first_order_at": _nullable(bought_metrics.first_utc, bought),
        "last_order_at": _nullable(bought_metrics.last_utc, bought),
        "days_since_last_order": _nullable(days_since_order, bought),
        "mean_days_between_orders": _nullable(gaps, ~np.isnan(gaps)),
        "purchase_days": bought_metrics.purchase_days.tolist(),
        "preferred_weekday": _nullable(bought_metrics.preferred_weekday, bought),
        "preferred_hour": _nullable(bought_metrics.preferred_hour, bought),
        "channels": _channels(bought_metrics.channels),
        "total_visits": visit_metrics.total_visits.tolist(),
        "total_appointments": visit_metrics.total_appointments.tolist(),
        "cancelled_appointments": visit_metrics.cancelled_appointments.tolist(),
        "no_show_count": visit_metrics.no_show_count.tolist(),
        "first_visit_at": _nullable(visit_metrics.first_utc, last_visit_day >= 0),
        "last_visit_at": _nullable(visit_metrics.last_utc, last_visit_day >= 0),
        "days_since_last_visit": _nullable(days_since_visit, last_visit_day >= 0),
        "visit_pattern": _visit_patterns(customer_ids, visits),
        "messages_sent": sent.tolist(),
        "messages_responded": answered.tolist(),
        "response_rate": np.divide(answered, sent, out=np.zeros(count), where=sent > 0).tolist(),
        "recency_score": r.tolist(),
        "frequency_score": f.tolist(),
        "monetary_score": m.tolist(),
        "rfm_code": codes.tolist(),
        "rfm_segment": segments.tolist(),
        "rfm_group": groups.tolist(),
        "p_alive": _nullable(p_alive, has_p_alive),
        "churn_risk": _nullable(1 - p_alive, has_p_alive),
        "predicted_purchases": _nullable(purchases, has_p_alive),
        "predicted_ltv_q": _nullable(np.rint(np.nan_to_num(value)).astype(np.int64), has_p_alive),
        "method": [run.method if buyer else "" for buyer in bought.tolist()],
        "customer_score": customer_score.tolist(),
    }


def _nullable(values: np.ndarray, present: np.ndarray) -> list:
    """The values as a list, None where not `present`."""
    return [
        value if keep else None
        for value, keep in zip(values.tolist(), present.tolist(), strict=True)
    ]


def _channels(used: np.ndarray) -> list[list[str]]:
    """Each customer's order channels, by name, from the (customers, channels) booleans."""
    names = [*history.CHANNELS, "other"]
    combinations = [
        [name for bit, name in enumerate(names) if mask >> bit & 1]
        for mask in range(1 << len(names))
    ]
    masks = used.astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    return [combinations[mask] for mask in masks.tolist()]


def _visit_patterns(customer_ids: np.ndarray, visits: history.Visits) -> list[str]:
    """Each customer's visit pattern, worked out only for those with enough completed visits."""
    found = [""] * len(customer_ids)
    index, days, emergencies = metrics.completed_visit_days(customer_ids, visits)
    if not len(index):
        return found
    counts = np.bincount(index, minlength=len(customer_ids))
    boundaries = np.flatnonzero(np.diff(index)) + 1
    starts = np.concatenate(([0], boundaries))
    for start, part_days, part_emergencies in zip(
        starts.tolist(), np.split(days, boundaries), np.split(emergencies, boundaries), strict=True
    ):
        customer = int(index[start])
        if counts[customer] >= patterns.MIN_VISITS:
            found[customer] = patterns.visit_pattern(part_days, part_emergencies)
    return found
