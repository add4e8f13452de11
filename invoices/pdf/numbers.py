"""How amounts, quantities, rates and dates are written on a document.

Amounts are integer minor units and are written exactly, never through a float:
`1234567` TZS is "12,345.67". Dates are "31 October 2026" / "31 Oktoba 2026".
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from billing.core.money import Currency

_MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ),
    "sw": (
        "Januari", "Februari", "Machi", "Aprili", "Mei", "Juni", "Julai", "Agosti",
        "Septemba", "Oktoba", "Novemba", "Desemba",
    ),
}  # fmt: skip


def amount(minor: int, currency: Currency) -> str:
    """Minor units as "-1,234.50": the sign, thousands separators, all minor digits."""
    exponent = Currency(currency).exponent
    whole, cents = divmod(abs(minor), 10**exponent)
    text = f"{whole:,}.{cents:0{exponent}d}" if exponent else f"{whole:,}"
    return f"-{text}" if minor < 0 else text


def decimal(value: Decimal, *, min_places: int = 0, max_places: int = 10) -> str:
    """A Decimal with thousands separators, no trailing zeros past `min_places`, and
    at most `max_places` decimals (rounded half-up: a unit price of 1/3 shilling is
    printed 0.333333, while the line amount stays the exact product, rounded once)."""
    value = Decimal(value)
    places = min(max(min_places, -value.normalize().as_tuple().exponent), max_places)
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value:,.{places}f}"


# The finest price a rate plan holds: a millionth of a minor unit (billing.rating.fixedpoint),
# i.e. 8 decimals of TZS or USD. A line's unit price is stored to 10 decimals so that
# quantity x price gives back its amount exactly; nothing finer than this is ever priced.
PRICE_PLACES = 8


# What a person reads on a document: a line's unit price is the line amount over its
# quantity (an average where rating priced record by record), so past 4 decimals it is
# noise to an accountant. The line amount itself is exact and rounded once.
PRINT_PLACES = 4


def unit_price(value: Decimal) -> str:
    """As printed: the fewest decimals that show the price, at least 2; rounded at 4
    decimals, or below one at 4 significant digits (the plan's precision at most):
    0.0150000000 → "0.015", 100 → "100.00", 161.9676064787 → "161.9676",
    0.3333333333 → "0.3333", 0.0000000100 → "0.00000001"."""
    value = Decimal(value)
    places = PRINT_PLACES
    if value and abs(value) < 1:  # 0.000123456: its 4 significant digits
        places = min(PRICE_PLACES, max(PRINT_PLACES, 3 - abs(value).adjusted()))
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return decimal(rounded, min_places=2, max_places=places)


def exact_price(value: Decimal) -> str:
    """For machines (API, attached data): every stored digit that matters, no grouping,
    at least 2 decimals: 0.0150000000 → "0.015", 161.9676064787 stays as it is."""
    return decimal(value, min_places=2, max_places=28).replace(",", "")


def percent(rate: Decimal) -> str:
    return f"{decimal(rate)}%"


def long_date(day: date, language: str) -> str:
    return f"{day.day} {_MONTHS[language][day.month - 1]} {day.year}"


DASH = "\u2013"  # an en dash: the typographer's sign for a range of days


def date_range(first: date, last: date, language: str) -> str:
    """Both days inclusive, as short as reads clearly (with an en dash): "1-31 October
    2026", "1 September - 31 October 2026", "1 December 2026 - 31 January 2027"."""
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}{DASH}{last.day} {_MONTHS[language][last.month - 1]} {last.year}"
    if first.year == last.year:
        start = f"{first.day} {_MONTHS[language][first.month - 1]}"
        return f"{start} {DASH} {long_date(last, language)}"
    return f"{long_date(first, language)} {DASH} {long_date(last, language)}"
