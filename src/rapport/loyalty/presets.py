"""Ready-made programs reproducing each seed's loyalty scheme.

- guestman (seed 000): points and stamps; Bronze, Silver, Gold, Platinum at 0, 500, 2,000 and
  5,000 lifetime points; tiers only go up.
- nigerian_retail (seed 004): points; Bronze, Silver, Gold, Platinum at 0, 1,000, 5,000 and
  10,000 points earning 1x, 1.25x, 1.5x and 2x.
- crm_service (seed 003): points, one per currency unit; five tiers at 0, 1,000, 5,000, 15,000
  and 50,000 (`LOYALTY_TIER_THRESHOLDS`). The seed names no tiers; they are called Bronze,
  Silver, Gold, Platinum and Diamond here, and can be renamed.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from rapport.loyalty.models import DowngradePolicy, Mode, QualificationWindow


@dataclass(frozen=True)
class TierSpec:
    """A tier as data: its name, the qualifying points that reach it, its earn multiplier."""

    name: str
    threshold: int
    multiplier: Decimal = Decimal(1)


@dataclass(frozen=True)
class Preset:
    """A program's terms and tiers, ready to apply."""

    key: str
    description: str
    tiers: tuple[TierSpec, ...]
    terms: dict = field(default_factory=dict)


def _tiers(*rows: tuple[str, int, str]) -> tuple[TierSpec, ...]:
    return tuple(
        TierSpec(name, threshold, Decimal(multiplier)) for name, threshold, multiplier in rows
    )


PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset(
            key="guestman",
            description=(
                "Points and stamps; Bronze, Silver, Gold and Platinum at 0, 500, 2,000 and 5,000 "
                "lifetime points; tiers only go up"
            ),
            tiers=_tiers(
                ("Bronze", 0, "1"),
                ("Silver", 500, "1"),
                ("Gold", 2000, "1"),
                ("Platinum", 5000, "1"),
            ),
            terms={
                "mode": Mode.BOTH,
                "points_per_unit": Decimal(1),
                "qualification_window": QualificationWindow.LIFETIME,
                "downgrade_policy": DowngradePolicy.NEVER,
                "stamps_target": 10,
            },
        ),
        Preset(
            key="nigerian_retail",
            description=(
                "Points; Bronze, Silver, Gold and Platinum at 0, 1,000, 5,000 and 10,000 points "
                "earning 1x, 1.25x, 1.5x and 2x"
            ),
            tiers=_tiers(
                ("Bronze", 0, "1"),
                ("Silver", 1000, "1.25"),
                ("Gold", 5000, "1.5"),
                ("Platinum", 10000, "2"),
            ),
            terms={
                "mode": Mode.POINTS,
                "points_per_unit": Decimal(1),
                "qualification_window": QualificationWindow.LIFETIME,
                "downgrade_policy": DowngradePolicy.NEVER,
            },
        ),
        Preset(
            key="crm_service",
            description=(
                "Points, one per currency unit; five tiers at 0, 1,000, 5,000, 15,000 and "
                "50,000 points"
            ),
            tiers=_tiers(
                ("Bronze", 0, "1"),
                ("Silver", 1000, "1"),
                ("Gold", 5000, "1"),
                ("Platinum", 15000, "1"),
                ("Diamond", 50000, "1"),
            ),
            terms={
                "mode": Mode.POINTS,
                "points_per_unit": Decimal(1),
                "qualification_window": QualificationWindow.LIFETIME,
                "downgrade_policy": DowngradePolicy.NEVER,
            },
        ),
    )
}
