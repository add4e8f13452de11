"""Fixed-point money for the rating hot path.

Prices are held as integers in *micro-minor* units: millionths of a minor unit, so
1 TZS = 100 minor = 100,000,000 micro. TZS and USD both have exponent 2. Six extra
digits are enough for the finest published prices (e.g. US$2.00 per million tokens =
200 micro per token) while keeping per-record arithmetic in plain integers. A charge
stays an exact rational (numerator / denominator) until the single rounding at the end.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from billing.core.money import Currency

MICRO_PER_MINOR = 1_000_000


class Rounding(StrEnum):
    """How the one rounding per record goes; names follow CGRateS (*up, *down, *middle)."""

    UP = "up"
    DOWN = "down"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


EXPONENT = 2  # TZS and USD; a plan in another currency is refused (plans.RatePlan)


def to_micro(amount: Decimal) -> int:
    """A major-unit price as integer micro-minor; refuse what would lose precision."""
    if not isinstance(amount, Decimal):
        raise TypeError("prices are Decimal, never float")
    scaled = amount.scaleb(EXPONENT + 6)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"price {amount} is finer than a millionth of a minor unit")
    return int(scaled)


def round_fraction(numerator: int, denominator: int, step: int, rounding: Rounding) -> int:
    """Round `numerator / denominator` (micro-minor) to a multiple of `step` minor units.

    This is the only place a charge loses precision.
    """
    unit = denominator * MICRO_PER_MINOR * step
    quotient, remainder = divmod(numerator, unit)
    if remainder:
        if rounding is Rounding.UP:
            quotient += 1
        elif rounding is Rounding.HALF_UP:
            quotient += remainder * 2 >= unit
        elif rounding is Rounding.HALF_EVEN:
            twice = remainder * 2
            quotient += twice > unit or (twice == unit and quotient % 2 == 1)
    return quotient * step


def micro_to_decimal(numerator: int, denominator: int, currency: Currency) -> Decimal:
    """An exact-as-possible major-unit view of an unrounded amount, for disputes."""
    micro = Decimal(numerator) / Decimal(denominator)
    return micro.scaleb(-(currency.exponent + 6))
