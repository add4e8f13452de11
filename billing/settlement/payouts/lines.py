"""Stripe's balance transactions in Malipo's terms (pure): kind, minor units, and the
payout's totals, which reconcile gross - fees - refunds - disputes (+ other) = paid out.

Stripe's amounts are converted once, here (`wire.from_stripe_amount`: TZS is sent x100).
A balance transaction's `fee` is what Stripe kept of it (a charge's card fee, a dispute's
fee; negative when given back); `net` = amount - fee.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from providers.stripe import wire

KINDS = ("charge", "refund", "dispute", "fee", "payout", "other")
_BY_TYPE = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "payout": "payout",
    "stripe_fee": "fee",
    "application_fee": "fee",
    "tax_fee": "fee",
}
_DISPUTE_CATEGORIES = ("dispute", "dispute_reversal")


@dataclass(frozen=True)
class Txn:
    id: str
    kind: str
    source_id: str | None
    currency: str  # ISO 4217, upper case
    gross_minor: int  # Stripe's `amount`
    fee_minor: int
    occurred_at: datetime
    available_at: datetime | None = None  # Stripe's `available_on`

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.fee_minor


def kind_of(txn: dict[str, Any]) -> str:
    if txn.get("reporting_category") in _DISPUTE_CATEGORIES:
        return "dispute"
    source = _source(txn) or ""
    if txn.get("type") == "adjustment" and source.startswith("dp_"):
        return "dispute"
    return _BY_TYPE.get(str(txn.get("type")), "other")


def _source(txn: dict[str, Any]) -> str | None:
    source = txn.get("source")
    return source.get("id") if isinstance(source, dict) else source


def txn_of(txn: dict[str, Any]) -> Txn:
    currency = str(txn["currency"]).upper()
    return Txn(
        id=txn["id"],
        kind=kind_of(txn),
        source_id=_source(txn),
        currency=currency,
        gross_minor=wire.from_stripe_amount(int(txn["amount"]), currency),
        fee_minor=wire.from_stripe_amount(int(txn.get("fee") or 0), currency),
        occurred_at=_at(txn["created"]),
        available_at=_at(txn["available_on"]) if txn.get("available_on") else None,
    )


def _at(stamp: Any) -> datetime:
    return datetime.fromtimestamp(int(stamp), UTC)


@dataclass
class Totals:
    """A payout's money by kind, minor units, all positive as a clerk reads them."""

    gross: int = 0  # charges
    fees: int = 0  # every fee Stripe kept: of charges, of disputes, its own
    refunds: int = 0
    disputes: int = 0  # withdrawn less reinstated
    other: int = 0  # anything else, signed as it moved the balance
    payout: int = 0  # what the payout says it paid
    paid_out_txn: int | None = None  # what its own balance transaction took, when listed

    @property
    def computed(self) -> int:
        return self.gross - self.fees - self.refunds - self.disputes + self.other

    @property
    def reconciles(self) -> bool:
        own = self.payout if self.paid_out_txn is None else self.paid_out_txn
        return self.computed == self.payout == own

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "gross": self.gross, "fees": self.fees, "refunds": self.refunds,
            "disputes": self.disputes, "other": self.other, "computed": self.computed,
            "payout": self.payout, "difference": self.payout - self.computed,
            "reconciles": self.reconciles,
        }  # fmt: skip


def totals(txns: Iterable[Txn], payout_amount_minor: int) -> Totals:
    money = Totals(payout=payout_amount_minor)
    for txn in txns:
        if txn.kind == "payout":
            money.paid_out_txn = (money.paid_out_txn or 0) - txn.gross_minor
            continue
        money.fees += txn.fee_minor
        if txn.kind == "charge":
            money.gross += txn.gross_minor
        elif txn.kind == "refund":
            money.refunds -= txn.gross_minor
        elif txn.kind == "dispute":
            money.disputes -= txn.gross_minor
        elif txn.kind == "fee":
            money.fees -= txn.gross_minor
        else:
            money.other += txn.gross_minor
    return money
