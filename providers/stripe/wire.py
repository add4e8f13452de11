"""Stripe's amounts and statuses, mapped exhaustively (providers.md §7).

Amounts. Malipo keeps ISO 4217 minor units: TZS and USD both have exponent 2, so
TZS 5,000.00 is 500000. Stripe does *not* list TZS among its zero-decimal currencies,
so it also takes TZS in hundredths: 500000 is sent as 500000. A currency Stripe treats
as zero-decimal (UGX, say) would be sent divided by 100, and a fraction refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.base import Mapped, ProviderStatus

S = ProviderStatus

ISO_EXPONENT = {"TZS": 2, "USD": 2, "UGX": 0, "KES": 2}
# docs.stripe.com/currencies#zero-decimal; TZS is not on it.
STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
     "VUV", "XAF", "XOF", "XPF"}
)  # fmt: skip
CURRENCIES = ("TZS", "USD")  # what Malipo wallets hold


def stripe_exponent(currency: str) -> int:
    return 0 if currency.upper() in STRIPE_ZERO_DECIMAL else 2


def to_stripe_amount(amount_minor: int, currency: str) -> int:
    """Malipo minor units to Stripe's integer `amount`; a fraction Stripe cannot take raises."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError("amounts are integer minor units")
    shift = ISO_EXPONENT[currency.upper()] - stripe_exponent(currency)
    if shift <= 0:
        return amount_minor * 10**-shift
    whole, rest = divmod(amount_minor, 10**shift)
    if rest:
        raise ValueError(f"{amount_minor} minor units of {currency} is a fraction at Stripe")
    return whole


def from_stripe_amount(amount: int, currency: str) -> int:
    """Stripe's integer `amount` back to Malipo minor units, exactly."""
    shift = ISO_EXPONENT[currency.upper()] - stripe_exponent(currency)
    return amount * 10**shift if shift >= 0 else _exact(amount, -shift, currency)


def _exact(amount: int, shift: int, currency: str) -> int:
    whole, rest = divmod(amount, 10**shift)
    if rest:
        raise ValueError(f"{amount} at Stripe is a fraction of a {currency} minor unit")
    return whole


# PaymentIntent.status. requires_action (3-D Secure) and processing are pending, not
# failures; requires_payment_method after an attempt (last_payment_error) is a decline.
PAYMENT_INTENT: dict[str, Mapped] = {
    "requires_payment_method": Mapped(status=S.PENDING, description="waiting for a card"),
    "requires_confirmation": Mapped(status=S.PENDING, description="waiting for confirmation"),
    "requires_action": Mapped(status=S.PENDING, description="3-D Secure: the payer acts"),
    "processing": Mapped(status=S.PENDING, description="processing"),
    "requires_capture": Mapped(status=S.PENDING, description="authorised, not captured"),
    "succeeded": Mapped(status=S.SUCCEEDED, description="succeeded"),
    "canceled": Mapped(status=S.CANCELLED, description="canceled"),
}
DECLINED = Mapped(status=S.FAILED, description="declined")

REFUND: dict[str, Mapped] = {
    "succeeded": Mapped(status=S.SUCCEEDED, description="refunded"),
    "pending": Mapped(status=S.PENDING, description="refund pending"),
    "requires_action": Mapped(status=S.PENDING, description="refund needs action"),
    "failed": Mapped(status=S.FAILED, description="refund failed"),
    "canceled": Mapped(status=S.FAILED, description="refund canceled"),
}

# Webhook event types Malipo acts on; any other is stored and settles nothing.
EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
)


def unknown(raw: str) -> Mapped:
    return Mapped(status=S.PENDING, unknown_status=True, description=f"unknown status {raw!r}")


def map_payment_intent(intent: Mapping[str, Any]) -> Mapped:
    status = str(intent.get("status") or "")
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return DECLINED
    return PAYMENT_INTENT.get(status) or unknown(status)


def map_any(raw: str) -> Mapped:
    return PAYMENT_INTENT.get(raw) or REFUND.get(raw) or unknown(raw)


def decline_reason(intent: Mapping[str, Any]) -> tuple[str | None, str | None]:
    error = intent.get("last_payment_error") or {}
    return (error.get("decline_code") or error.get("code"), error.get("message"))


def latest_charge_id(intent: Mapping[str, Any]) -> str | None:
    charge = intent.get("latest_charge")
    if isinstance(charge, Mapping):
        return charge.get("id")
    return charge or None
