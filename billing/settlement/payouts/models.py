"""A reconciled Stripe payout and its lines, each line with what matching made of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime


class PayoutOutcome(StrEnum):
    MATCHED = "matched"  # the ledger booked this transaction, same amounts
    AMOUNT_MISMATCH = "amount_mismatch"  # booked, with another gross, fee or currency
    MISSING_IN_MALIPO = "missing_in_malipo"  # Stripe moved money the ledger never booked
    NOT_IN_PAYOUT = "not_in_payout"  # booked here, available at Stripe before it, not listed
    FEE = "fee"  # a Stripe fee of its own (not of a charge): no tenant's
    PAYOUT = "payout"  # the payout's own balance transaction


PAYOUT_EXCEPTIONS = (
    PayoutOutcome.AMOUNT_MISMATCH,
    PayoutOutcome.MISSING_IN_MALIPO,
    PayoutOutcome.NOT_IN_PAYOUT,
)


class StripePayout(Base):
    """A Stripe payout as reconciled (once: the same payout again changes nothing)."""

    __tablename__ = "stripe_payouts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # Stripe's po_…
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    automatic: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())  # at Stripe
    arrival_at: Mapped[datetime] = mapped_column(UtcDateTime())
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reconciled_by: Mapped[str] = mapped_column(String(60))
    reconciled_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PayoutLine(Base):
    """A balance transaction of the payout, or a booked charge it lacks (no transaction)."""

    __tablename__ = "stripe_payout_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payout_id: Mapped[str] = mapped_column(String(100))
    balance_transaction_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # charge, refund, dispute, fee, payout, other
    source_id: Mapped[str | None] = mapped_column(String(100))  # ch_, re_, dp_, po_
    currency: Mapped[str] = mapped_column(String(3))
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    topup_id: Mapped[str | None] = mapped_column(String(40))
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    ledger_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    fee_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    expected_gross_minor: Mapped[int | None] = mapped_column(BigInteger)
    expected_fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    review_item_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_stripe_payout_lines_payout_id", "payout_id"),
        Index("ix_stripe_payout_lines_source_id", "source_id"),
    )
