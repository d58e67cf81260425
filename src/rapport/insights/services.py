"""InsightService: seed 000's methods over the set-based recalculation."""

import datetime as dt
from collections.abc import Callable

from django.db.models import QuerySet
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.customers.services import find_customer
from rapport.exceptions import InvalidInput, NotFound
from rapport.insights import conf, recalculation
from rapport.insights.models import CustomerInsight, InsightRun, RfmGroup, RfmSegment, RunStatus
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

# progress(customers_done, customers_total) after each chunk
Progress = Callable[[int, int], None]


def _customer(tenant: Tenant, customer_code: str) -> Customer:
    customer = find_customer(tenant, customer_code)
    if customer is None:
        raise NotFound(f"No customer with code {customer_code!r}")
    return customer


def _buyers(tenant: Tenant) -> QuerySet[Customer]:
    """The tenant's customers, through their insights' tenant so that its indexes serve."""
    return Customer.objects.filter(insight__tenant=tenant, merged_into__isnull=True)


def _check_settings(time_unit: str | None, horizon: int | None, as_of: dt.datetime | None):
    errors = {}
    if time_unit is not None and time_unit not in conf.TIME_UNITS:
        errors["time_unit"] = f"One of {', '.join(conf.TIME_UNITS)}"
    if horizon is not None and not 1 <= horizon <= 10_000:
        errors["horizon"] = "Between 1 and 10,000 time units"
    if as_of is not None and as_of > timezone.now():
        errors["as_of"] = "The history cannot end in the future"
    if errors:
        raise InvalidInput("The recalculation settings are not valid", fields=errors)


class InsightService:
    """Customer insights: read them, recalculate one customer or a whole tenant, find by them."""

    @staticmethod
    def get_insight(*, tenant: Tenant, customer_code: str) -> CustomerInsight | None:
        """The customer's insight (merges followed); None before its first calculation."""
        customer = _customer(tenant, customer_code)
        return CustomerInsight.objects.filter(customer=customer).select_related("run").first()

    @staticmethod
    def recalculate(
        *, actor: Actor, customer_code: str, as_of: dt.datetime | None = None
    ) -> CustomerInsight:
        """Work out one customer's insight from their history up to now, with the models of
        the tenant's latest completed run.

        With no completed run yet, or with an `as_of` of its own, the tenant's models are
        fitted first and the fit kept as a run of one customer.
        """
        _check_settings(None, None, as_of)
        customer = _customer(actor.tenant, customer_code)
        run = InsightService.latest_run(tenant=actor.tenant)
        if run is None or as_of is not None:
            alone = recalculation.Chunk(customer.pk, customer.pk, 1)
            started = recalculation.start_run(tenant=actor.tenant, chunks=[alone], as_of=as_of)
            recalculation.recalculate_chunk(started.run, alone, orders=started.orders)
            return CustomerInsight.objects.select_related("run").get(customer=customer)
        return recalculation.recalculate_customer(run, customer, as_of=timezone.now())

    @staticmethod
    def recalculate_all(
        *,
        actor: Actor,
        as_of: dt.datetime | None = None,
        background: bool = False,
        time_unit: str | None = None,
        horizon: int | None = None,
        progress: Progress | None = None,
    ) -> InsightRun:
        """Fit the tenant's models and work out every customer's insight, chunk by chunk.

        In the foreground the chunks run here, one after the other, and `progress` hears of
        each; with `background` each chunk is a task for the workers and the run is returned
        at once, its status and counters saying how far it got.
        """
        _check_settings(time_unit, horizon, as_of)
        chunks = recalculation.plan_chunks(actor.tenant, conf.chunk_size())
        started = recalculation.start_run(
            tenant=actor.tenant, chunks=chunks, as_of=as_of, time_unit=time_unit, horizon=horizon
        )
        run = started.run
        if background:
            from rapport.insights.tasks import recalculate_chunk

            for chunk in chunks:
                recalculate_chunk.enqueue(
                    run_id=run.pk, first=chunk.first, last=chunk.last, size=chunk.size
                )
            run.refresh_from_db()
            return run
        try:
            for chunk in chunks:
                recalculation.recalculate_chunk(run, chunk, orders=started.orders)
                if progress is not None:
                    run.refresh_from_db(fields=["customers_done"])
                    progress(run.customers_done, run.customers_total)
        except Exception as error:
            recalculation.fail_run(run, f"{type(error).__name__}: {error}")
            raise
        run.refresh_from_db()
        return run

    @staticmethod
    def latest_run(*, tenant: Tenant) -> InsightRun | None:
        """The tenant's newest completed run: its models score single recalculations."""
        return (
            InsightRun.objects.filter(tenant=tenant, status=RunStatus.COMPLETED)
            .order_by("-started_at", "-id")
            .first()
        )

    @staticmethod
    def get_segment_customers(*, tenant: Tenant, segment: str) -> QuerySet[Customer]:
        """Customers in an RFM segment (`champions`, …), or else in a coarse group (`champion`, …).

        `at_risk` and `lost` name both a segment and a group: the segment wins here; ask
        `get_group_customers` for the group.
        """
        if segment in RfmSegment.values:
            return _buyers(tenant).filter(insight__rfm_segment=segment)
        if segment in RfmGroup.values:
            return _buyers(tenant).filter(insight__rfm_group=segment)
        names = ", ".join(dict.fromkeys([*RfmSegment.values, *RfmGroup.values]))
        raise InvalidInput(
            f"No RFM segment or group {segment!r}", fields={"segment": f"One of {names}"}
        )

    @staticmethod
    def get_group_customers(*, tenant: Tenant, group: str) -> QuerySet[Customer]:
        """Customers in one of Guestman's six coarse groups (`champion`, `at_risk`, …)."""
        if group not in RfmGroup.values:
            raise InvalidInput(
                f"No RFM group {group!r}", fields={"group": f"One of {', '.join(RfmGroup.values)}"}
            )
        return _buyers(tenant).filter(insight__rfm_group=group)

    @staticmethod
    def get_at_risk_customers(
        *, tenant: Tenant, min_churn_risk: float | None = None
    ) -> QuerySet[Customer]:
        """Customers whose churn risk is at least `min_churn_risk` (default 0.7), riskiest first."""
        threshold = conf.at_risk_threshold() if min_churn_risk is None else min_churn_risk
        if not 0 <= threshold <= 1:
            raise InvalidInput(
                "A churn risk is between 0 and 1", fields={"min_churn_risk": "Between 0 and 1"}
            )
        return (
            _buyers(tenant)
            .filter(insight__churn_risk__gte=threshold)
            .select_related("insight")
            .order_by("-insight__churn_risk", "-insight__predicted_ltv_q", "id")
        )
