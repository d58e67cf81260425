"""Amounts in minor units as a person reads them (ISO 4217 exponents)."""

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


def format_amount(amount_q: int, currency: str) -> str:
    """An amount as a person reads it: '45.00 EUR', '1,200 JPY'."""
    places = EXPONENTS.get(currency.upper(), 2)
    return f"{Decimal(amount_q).scaleb(-places):,.{places}f} {currency}"
