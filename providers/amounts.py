"""Between our integer minor units and the whole shillings mobile money speaks.

TZS has exponent 2 in ISO 4217, but wallets move whole shillings: a request for
1,000.50 TZS must be refused here rather than rounded by someone's float.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

TZS = "TZS"
MINOR_PER_SHILLING = 100


def to_whole_shillings(amount_minor: int, currency: str) -> int:
    """Minor units to the integer shillings a wallet API takes; refuse fractions."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError("amount_minor must be an int")
    if currency != TZS:
        raise ValueError(f"mobile money collects TZS only, not {currency}")
    if amount_minor <= 0:
        raise ValueError("amount must be positive")
    shillings, cents = divmod(amount_minor, MINOR_PER_SHILLING)
    if cents:
        raise ValueError(f"{amount_minor} minor units is not a whole number of shillings")
    return shillings


def shillings_to_minor(value: object) -> int:
    """A provider's amount ("1000", 1000, Decimal("1000.00")) to minor units, exactly."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, float):
        raise TypeError("amounts must not be floats; decode JSON with parse_float=Decimal")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    minor = amount * MINOR_PER_SHILLING
    if not amount.is_finite() or minor != minor.to_integral_value():
        raise ValueError(f"not an exact TZS amount: {value!r}")
    return int(minor)


def optional_minor(value: object) -> int | None:
    """Like shillings_to_minor, but a missing or unreadable amount is None, not an error."""
    if value in (None, ""):
        return None
    try:
        return shillings_to_minor(value)
    except (TypeError, ValueError):
        return None
