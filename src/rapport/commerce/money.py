"""Amounts in minor units as a person reads them (ISO 4217 exponents)."""

from decimal import Decimal

from django.conf import settings

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


# Rough units of each currency that buy what one US dollar buys, for thresholds written in one
# currency ("VIP: spent over ₦100,000", "a customer score of 40 at 10,000 spent") to mean about
# the same in another. Not exchange rates for money: scales for rules of thumb, overridable with
# the RAPPORT_CURRENCY_SCALE setting ({"NGN": 1500, …}). A currency missing here counts as 1.
CURRENCY_SCALE = {
    "USD": 1,
    "EUR": 0.9,
    "GBP": 0.8,
    "CHF": 0.9,
    "CAD": 1.4,
    "AUD": 1.5,
    "NZD": 1.7,
    "MXN": 18,
    "BRL": 5.5,
    "ARS": 1000,
    "CLP": 950,
    "COP": 4000,
    "PEN": 3.7,
    "NGN": 1500,
    "GHS": 15,
    "KES": 130,
    "ZAR": 18,
    "EGP": 50,
    "MAD": 10,
    "XOF": 600,
    "XAF": 600,
    "INR": 85,
    "PKR": 280,
    "BDT": 120,
    "IDR": 16000,
    "PHP": 58,
    "VND": 25000,
    "THB": 35,
    "MYR": 4.5,
    "SGD": 1.35,
    "JPY": 150,
    "KRW": 1400,
    "CNY": 7.2,
    "TRY": 35,
    "PLN": 4,
    "SEK": 10.5,
    "NOK": 10.5,
    "DKK": 6.9,
    "AED": 3.67,
    "SAR": 3.75,
}


def currency_scale(currency: str) -> Decimal:
    """Units of `currency` that weigh like one US dollar in a rule of thumb (1 when unknown)."""
    table = {**CURRENCY_SCALE, **getattr(settings, "RAPPORT_CURRENCY_SCALE", {})}
    return Decimal(str(table.get(currency.upper(), 1)))


def scaled_amount_q(amount: Decimal | int, written_in: str, currency: str) -> int:
    """A threshold written as `amount` major units of `written_in`, in minor units of `currency`.

    scaled_amount_q(100_000, "NGN", "NGN") == 10_000_000 (kobo);
    scaled_amount_q(100_000, "NGN", "EUR") == 6_000 (60.00 EUR).
    """
    major = Decimal(amount) / currency_scale(written_in) * currency_scale(currency)
    minor = major.scaleb(EXPONENTS.get(currency.upper(), 2))
    return int(minor.quantize(Decimal(1)))
