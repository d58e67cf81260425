"""Loyalty programs, their tiers and rules, customers' accounts and the append-only ledger."""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class Mode(models.TextChoices):
    POINTS = "points", "Points"
    STAMPS = "stamps", "Stamps"
    BOTH = "both", "Points and stamps"


class QualificationWindow(models.TextChoices):
    LIFETIME = "lifetime", "Lifetime"
    ROLLING = "rolling", "Rolling months"


class DowngradePolicy(models.TextChoices):
    NEVER = "never", "Never: tiers only go up"
    IMMEDIATE = "immediate", "Immediate: the tier always follows the qualifying points"


class LoyaltyProgram(models.Model):
    """A tenant's loyalty program: its standing terms. Rules add to them within windows."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="loyalty_program")
    name = models.CharField(max_length=100, default="Loyalty")
    preset = models.CharField(max_length=30, blank=True, help_text="The preset it started from")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.BOTH)
    currency = models.CharField(max_length=3, help_text="ISO 4217; order amounts are in it")
    points_per_unit = models.DecimalField(
        max_digits=12, decimal_places=4, default=1, help_text="Points per currency unit spent"
    )
    min_order_q = models.BigIntegerField(
        default=0, help_text="Orders below this amount (minor units) earn no points"
    )
    redeem_points_per_unit = models.DecimalField(
        max_digits=12, decimal_places=4, default=100, help_text="Points one currency unit costs"
    )
    min_redeem_points = models.BigIntegerField(default=0)
    qualification_window = models.CharField(
        max_length=10, choices=QualificationWindow.choices, default=QualificationWindow.LIFETIME
    )
    qualification_months = models.PositiveSmallIntegerField(
        default=12, help_text="The rolling window's length, when the window is rolling"
    )
    downgrade_policy = models.CharField(
        max_length=10, choices=DowngradePolicy.choices, default=DowngradePolicy.NEVER
    )
    points_expire_after_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Points expire this long after they were earned; empty: never",
    )
    stamps_target = models.PositiveSmallIntegerField(default=10)
    stamp_reward = models.CharField(
        max_length=200, blank=True, help_text="What a completed card earns, e.g. a free coffee"
    )
    stamp_reward_points = models.BigIntegerField(
        default=0, help_text="Points a completed card earns, when the program keeps points"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=0)
                & Q(min_order_q__gte=0)
                & Q(redeem_points_per_unit__gt=0)
                & Q(min_redeem_points__gte=0)
                & Q(stamps_target__gte=1)
                & Q(stamp_reward_points__gte=0),
                name="loyalty_program_terms_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def keeps_points(self) -> bool:
        return self.mode in (Mode.POINTS, Mode.BOTH)

    @property
    def keeps_stamps(self) -> bool:
        return self.mode in (Mode.STAMPS, Mode.BOTH)


class LoyaltyTier(models.Model):
    """A tier: reached at `threshold` qualifying points; its multiplier scales what orders earn."""

    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=50)
    threshold = models.BigIntegerField()
    multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=1)

    class Meta:
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="loyalty_tier_name_once"),
            models.UniqueConstraint(
                fields=["program", "threshold"], name="loyalty_tier_threshold_once"
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=0) & Q(multiplier__gt=0), name="loyalty_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.threshold}+)"


class RuleKind(models.TextChoices):
    EARN = "earn", "Earn rate"
    MULTIPLIER = "multiplier", "Multiplier"
    BONUS = "bonus", "Bonus"
    REDEEM = "redeem", "Redeem rate"


class BonusEvent(models.TextChoices):
    SIGNUP = "signup", "Signup"
    BIRTHDAY = "birthday", "Birthday"
    REFERRAL = "referral", "Referral"
    FIRST_ORDER = "first_order", "First order"


class LoyaltyRule(models.Model):
    """One rule of a program, in force between `valid_from` and `valid_until`.

    earn: a points-per-unit rate that replaces the program's (the highest priority wins);
    multiplier: scales the points of order lines in `categories` / `products` (all when empty);
    bonus: fixed `points` on an `event`; redeem: a redeem rate and minimum that replace the
    program's.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=RuleKind.choices)
    event = models.CharField(max_length=20, choices=BonusEvent.choices, blank=True)
    points_per_unit = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    multiplier = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    points = models.BigIntegerField(null=True, blank=True, help_text="A bonus's fixed points")
    min_order_q = models.BigIntegerField(default=0)
    min_points = models.BigIntegerField(default=0, help_text="A redeem rule's minimum")
    categories = models.JSONField(default=list, blank=True)
    products = models.JSONField(default=list, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "-priority", "created_at", "id"]
        indexes = [
            models.Index(fields=["program", "kind", "is_active"], name="loyalty_rule_kind_idx")
        ]

    def __str__(self) -> str:
        return self.name


class LoyaltyAccount(models.Model):
    """A customer's membership: the balances the ledger adds up to, and the tier in force."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="accounts")
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="loyalty_account"
    )
    points_balance = models.BigIntegerField(default=0)
    lifetime_points = models.BigIntegerField(default=0, help_text="Points earned, less reversals")
    stamps_current = models.IntegerField(default=0)
    stamps_target = models.IntegerField(default=10)
    stamps_completed = models.IntegerField(default=0)
    tier = models.CharField(max_length=50, blank=True)
    tier_changed_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_balance__gte=0), name="loyalty_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(lifetime_points__gte=0)
                & Q(stamps_current__gte=0)
                & Q(stamps_target__gte=1)
                & Q(stamps_current__lt=F("stamps_target"))
                & Q(stamps_completed__gte=0),
                name="loyalty_account_counts_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "tier"], name="loyalty_account_tier_idx"),
            models.Index(
                fields=["tenant", "enrolled_at", "id"], name="loyalty_account_enrolled_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points_balance} points"


class TransactionType(models.TextChoices):
    EARN = "earn", "Earn"
    REDEEM = "redeem", "Redeem"
    ADJUST = "adjust", "Adjust"
    EXPIRE = "expire", "Expire"
    STAMP = "stamp", "Stamp"
    REVERSE = "reverse", "Reverse"


class LedgerQuerySet(models.QuerySet):
    def delete(self):
        raise TypeError("Loyalty transactions are never deleted: a correction is a new entry")


class LoyaltyTransaction(models.Model):
    """One entry of an account's ledger. Never edited or deleted: a correction is a new entry.

    `points` is the signed change to the balance and `balance_after` the balance it left;
    `qualifying_points` is what the entry adds to `lifetime_points` (earns, and reversals of
    earns). A merge moves entries to the survivor's account; `origin_account_id` keeps the
    account each was written on, so references both records used stay unique.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    account = models.ForeignKey(
        LoyaltyAccount, on_delete=models.CASCADE, related_name="transactions"
    )
    origin_account_id = models.BigIntegerField(
        help_text="The account the entry was written on; merges move entries, never this"
    )
    transaction_type = models.CharField(max_length=10, choices=TransactionType.choices)
    points = models.BigIntegerField(default=0)
    balance_after = models.BigIntegerField()
    qualifying_points = models.BigIntegerField(default=0)
    stamps = models.IntegerField(default=0, help_text="Stamps added")
    stamps_after = models.IntegerField(default=0)
    cards_completed = models.IntegerField(default=0)
    order_amount_q = models.BigIntegerField(null=True, blank=True, help_text="What earned it")
    value_q = models.BigIntegerField(null=True, blank=True, help_text="What a redemption is worth")
    currency = models.CharField(max_length=3, blank=True)
    tier = models.CharField(max_length=50, blank=True, help_text="The tier in force when written")
    description = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="reversals"
    )
    detail = models.JSONField(default=dict, blank=True, help_text="How it was computed")
    actor = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(help_text="When it happened (offline: on the till)")
    created_at = models.DateTimeField(default=timezone.now)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Idempotency: one entry per reference and kind on an account (lookups use it too).
            models.UniqueConstraint(
                fields=["account", "transaction_type", "reference", "origin_account_id"],
                condition=~Q(reference=""),
                name="loyalty_reference_once",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="loyalty_balance_after_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "created_at", "id"], name="loyalty_ledger_account_idx"),
            models.Index(fields=["account", "occurred_at"], name="loyalty_ledger_occurred_idx"),
            models.Index(fields=["tenant", "created_at", "id"], name="loyalty_ledger_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_type} {self.points:+d}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError("Loyalty transactions are never edited: a correction is a new entry")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Loyalty transactions are never deleted: a correction is a new entry")
