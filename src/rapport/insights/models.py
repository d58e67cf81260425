"""What rapport has worked out about each customer, and the runs that worked it out."""

import uuid

from django.db import models
from django.db.models import Q

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class RfmSegment(models.TextChoices):
    """The 11 named segments of the RFM table (docs/insights.md maps all 125 codes)."""

    CHAMPIONS = "champions", "Champions"
    LOYAL_CUSTOMERS = "loyal_customers", "Loyal Customers"
    POTENTIAL_LOYALISTS = "potential_loyalists", "Potential Loyalists"
    NEW_CUSTOMERS = "new_customers", "New Customers"
    PROMISING = "promising", "Promising"
    NEED_ATTENTION = "need_attention", "Need Attention"
    ABOUT_TO_SLEEP = "about_to_sleep", "About to Sleep"
    AT_RISK = "at_risk", "At Risk"
    CANT_LOSE_THEM = "cant_lose_them", "Can't Lose Them"
    HIBERNATING = "hibernating", "Hibernating"
    LOST = "lost", "Lost"


class RfmGroup(models.TextChoices):
    """Guestman's six coarse segments, each a union of named segments."""

    CHAMPION = "champion", "Champion"
    LOYAL_CUSTOMER = "loyal_customer", "Loyal customer"
    RECENT_CUSTOMER = "recent_customer", "Recent customer"
    AT_RISK = "at_risk", "At risk"
    LOST = "lost", "Lost"
    REGULAR = "regular", "Regular"


class VisitPattern(models.TextChoices):
    REGULAR = "regular", "Regular"
    SEASONAL = "seasonal", "Seasonal"
    EMERGENCY_DRIVEN = "emergency_driven", "Emergency-driven"
    UNKNOWN = "", "Not enough visits"


class Method(models.TextChoices):
    """How lifetime value and churn were worked out."""

    MODEL = "bgnbd_gamma_gamma", "BG/NBD and Gamma-Gamma, fitted"
    HEURISTIC = "heuristic", "Heuristic (too little history to fit)"


class CustomerInsight(models.Model):
    """One per customer: the metrics of its last recalculation, as of `as_of`."""

    # The composite indexes below all start with the tenant: no index of its own. Fewer
    # indexes and checks make the nightly rewrite of every row faster; the customer's
    # constraint keeps the row's tenant honest (deleting a tenant deletes its customers).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="insight")

    # Orders (sold: completed or refunded in part or whole), money net of refunds.
    total_orders = models.PositiveIntegerField(default=0)
    total_spent_q = models.BigIntegerField(default=0)
    average_ticket_q = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    days_since_last_order = models.PositiveIntegerField(null=True, blank=True)
    mean_days_between_orders = models.FloatField(null=True, blank=True)
    purchase_days = models.PositiveIntegerField(
        default=0, help_text="Days with at least one order: BG/NBD's x is this minus one"
    )
    preferred_weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0 = Monday … 6 = Sunday, in the tenant's timezone"
    )
    preferred_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    preferred_products = models.JSONField(default=list, blank=True)
    preferred_categories = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True, help_text="Order channels used")

    # Visits and appointments.
    total_visits = models.PositiveIntegerField(default=0, help_text="Completed visits")
    total_appointments = models.PositiveIntegerField(default=0)
    cancelled_appointments = models.PositiveIntegerField(default=0)
    no_show_count = models.PositiveIntegerField(default=0)
    first_visit_at = models.DateTimeField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)
    days_since_last_visit = models.PositiveIntegerField(null=True, blank=True)
    visit_pattern = models.CharField(
        max_length=20, choices=VisitPattern.choices, blank=True, default=""
    )

    # Messages: outbound interactions, and inbound ones that answered them.
    messages_sent = models.PositiveIntegerField(default=0)
    messages_responded = models.PositiveIntegerField(default=0)
    response_rate = models.FloatField(default=0)

    # RFM: 0 where the customer has no orders.
    recency_score = models.PositiveSmallIntegerField(default=0)
    frequency_score = models.PositiveSmallIntegerField(default=0)
    monetary_score = models.PositiveSmallIntegerField(default=0)
    rfm_code = models.CharField(max_length=3, blank=True, help_text="e.g. 555")
    rfm_segment = models.CharField(max_length=30, choices=RfmSegment.choices, blank=True)
    rfm_group = models.CharField(max_length=30, choices=RfmGroup.choices, blank=True)

    # Probability models (or the heuristic): see `method`.
    p_alive = models.FloatField(null=True, blank=True)
    churn_risk = models.FloatField(null=True, blank=True, help_text="1 - P(alive), 0 to 1")
    predicted_purchases = models.FloatField(null=True, blank=True)
    predicted_ltv_q = models.BigIntegerField(null=True, blank=True)
    method = models.CharField(max_length=30, choices=Method.choices, blank=True)
    customer_score = models.PositiveSmallIntegerField(default=0, help_text="0 to 100")

    as_of = models.DateTimeField(help_text="The history it was worked out from ended here")
    calculated_at = models.DateTimeField()
    run = models.ForeignKey(
        "InsightRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "rfm_segment"], name="insight_segment_idx"),
            models.Index(fields=["tenant", "churn_risk"], name="insight_churn_idx"),
            models.Index(fields=["tenant", "-total_spent_q"], name="insight_spent_idx"),
            models.Index(fields=["tenant", "-predicted_ltv_q"], name="insight_ltv_idx"),
            models.Index(fields=["tenant", "last_order_at"], name="insight_last_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(churn_risk__isnull=True) | Q(churn_risk__gte=0, churn_risk__lte=1),
                name="insight_churn_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(customer_score__lte=100), name="insight_score_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"Insight for {self.customer_id}"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class InsightRun(models.Model):
    """One recalculation of a tenant: its progress, and the model card of the fit it used."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.RUNNING)
    as_of = models.DateTimeField(help_text="Orders and visits from this moment on are ignored")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    customers_total = models.PositiveIntegerField(default=0)
    customers_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    finished_chunks = models.JSONField(
        default=list, blank=True, help_text="The first customer id of each chunk written"
    )
    error = models.TextField(blank=True)

    # The model card.
    method = models.CharField(max_length=30, choices=Method.choices, blank=True)
    method_reason = models.CharField(max_length=300, blank=True)
    time_unit = models.CharField(max_length=10, default="week")
    horizon = models.PositiveIntegerField(default=52, help_text="In time units")
    parameters = models.JSONField(default=dict, blank=True)
    log_likelihood = models.JSONField(default=dict, blank=True)
    customers_fitted = models.PositiveIntegerField(default=0)
    fitted_at = models.DateTimeField(null=True, blank=True)
    # What scoring needs from the whole tenant, so that chunks score alike.
    monetary_edges = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-started_at"], name="insight_run_idx")]

    def __str__(self) -> str:
        return f"Insight run {self.uuid} ({self.status})"
