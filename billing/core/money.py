"""Money: integer minor units of an ISO 4217 currency. Never a float.

Rates may carry more precision as `Decimal`; they become money once, through
`to_minor()`, with the rounding rule named at the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class Currency(StrEnum):
    TZS = "TZS"
    USD = "USD"

    @property
    def exponent(self) -> int:
        """ISO 4217 minor-unit exponent (both currencies have two)."""
        return 2


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("money is an integer number of minor units")
        object.__setattr__(self, "currency", Currency(self.currency))

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    @property
    def major(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.currency.exponent)

    def __str__(self) -> str:
        return f"{self.currency} {self.major:,.{self.currency.exponent}f}"


def to_minor(amount: Decimal, currency: Currency, rounding: str = ROUND_HALF_UP) -> int:
    """Round a major-unit `Decimal` to whole minor units, once, by `rounding`."""
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    return int(amount.scaleb(currency.exponent).quantize(Decimal(1), rounding=rounding))
