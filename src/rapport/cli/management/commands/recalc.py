"""`rapport recalc`: work out every customer's insights (RFM, lifetime value, churn) now."""

from django.core.management.base import BaseCommand

from rapport.cli.shared import (
    add_tenant_argument,
    command_error,
    moment_option,
    progress_bar,
    require_app,
    system_actor,
)
from rapport.exceptions import RapportError


class Command(BaseCommand):
    help = (
        "Recalculate the tenant's customer insights: fit the lifetime-value models, then work "
        "out every customer's metrics, RFM segment, churn risk and predicted value, in chunks. "
        "Prints the model card at the end."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", default=None, help="Read history as it stood then (ISO 8601; default now)"
        )
        parser.add_argument("--time-unit", choices=["day", "week", "month"], default=None)
        parser.add_argument(
            "--horizon", type=int, default=None, help="Predict this many time units ahead"
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help="Enqueue the chunks for `rapport worker` instead of working them out here",
        )
        add_tenant_argument(parser)

    def handle(self, *args, as_of, time_unit, horizon, background, tenant, **options):
        require_app("insights")
        from rapport.insights.services import InsightService

        actor = system_actor(tenant)
        progress = progress_bar("recalculating insights")
        bar = progress.add_task("customers", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        try:
            with progress:
                run = InsightService.recalculate_all(
                    actor=actor,
                    as_of=moment_option("--as-of", as_of),
                    background=background,
                    time_unit=time_unit,
                    horizon=horizon,
                    progress=advance,
                )
        except RapportError as error:
            raise command_error(error) from None
        seconds = ((run.finished_at or run.fitted_at) - run.started_at).total_seconds()
        if background:
            self.stdout.write(
                f"Run {run.uuid}: {run.chunks_total:,} chunks enqueued for "
                f"{run.customers_total:,} customers; `rapport worker` works them out"
            )
        else:
            self.stdout.write(
                f"Run {run.uuid}: {run.customers_done:,} customers in {seconds:.1f} s"
            )
        self.stdout.write(f"Model: {run.get_method_display()} ({run.method_reason})")
        self.stdout.write(
            f"As of {run.as_of.isoformat()}, time unit {run.time_unit}, horizon {run.horizon}, "
            f"{run.customers_fitted:,} customers with orders"
        )
        for line in model_card_lines(run):
            self.stdout.write(f"  {line}")


FITS = (
    ("bgnbd", "BG/NBD", ("r", "alpha", "a", "b")),
    ("gamma_gamma", "Gamma-Gamma", ("p", "q", "v")),
)


def model_card_lines(run) -> list[str]:
    """The fitted parameters, one fit a line, and the tenant's mean gap between purchases."""
    lines = []
    for key, title, names in FITS:
        fit = run.parameters.get(key)
        if fit is None:
            continue
        values = ", ".join(f"{name} = {fit[name]:.4g}" for name in names)
        likelihood = run.log_likelihood.get(key)
        detail = f"{fit['n']:,} customers"
        if likelihood is not None:
            detail += f", log-likelihood {likelihood:,.2f}"
        if not fit.get("converged", True):
            detail += f", did not converge: {fit.get('message', '')}"
        lines.append(f"{title}: {values} ({detail})")
    gap = run.parameters.get("tenant_gap")
    if gap is not None:
        lines.append(f"Mean time between purchase days, in {run.time_unit}s: {gap:.4g}")
    return lines
