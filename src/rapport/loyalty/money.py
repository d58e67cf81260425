"""Amounts in minor units and the currency units rates are quoted in (ISO 4217 exponents)."""

from decimal import Decimal

# ISO 4217 currencies whose minor unit is not a hundredth; every other has two decimals.
EXPONENTS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"], 0
    ),
    **dict.fromkeys(["VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


def exponent(currency: str) -> int:
    """How many decimals the currency's minor unit has (2 for NGN, 0 for JPY, 3 for KWD)."""
    return EXPONENTS.get(currency.upper(), 2)


def to_units(amount_q: int, currency: str) -> Decimal:
    """Minor units as currency units: 1_250_00 NGN kobo -> Decimal('1250.00')."""
    return Decimal(amount_q).scaleb(-exponent(currency))


def from_units(units: Decimal, currency: str) -> int:
    """Currency units as whole minor units, rounded down."""
    return int(units.scaleb(exponent(currency)).to_integral_value(rounding="ROUND_FLOOR"))


def format_amount(amount_q: int, currency: str) -> str:
    """An amount as a person reads it: '12,000.00 NGN'."""
    places = exponent(currency)
    return f"{to_units(amount_q, currency):,.{places}f} {currency}"
