"""balance_adjustments: a staff credit or debit of a wallet, and who made and checked it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime, string_enum


class Direction(StrEnum):
    CREDIT = "credit"  # to the tenant's wallet
    DEBIT = "debit"


class AdjustmentStatus(StrEnum):
    PENDING = "pending"  # above the threshold: waits for a second staff member
    APPLIED = "applied"
    REJECTED = "rejected"
    EXPIRED = "expired"


REASON_CODES = (
    "goodwill",
    "service_outage",
    "billing_error",
    "duplicate_charge",
    "missing_topup",  # paid but never credited (a settlement statement shows it)
    "fraud_reversal",
    "settlement_correction",
    "other",
)


class BalanceAdjustment(Base):
    __tablename__ = "balance_adjustments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    direction: Mapped[Direction] = mapped_column(string_enum(Direction, "adjustment_direction"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason_code: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(500))
    status: Mapped[AdjustmentStatus] = mapped_column(
        string_enum(AdjustmentStatus, "adjustment_status")
    )
    maker_id: Mapped[str] = mapped_column(String(40))
    checker_id: Mapped[str | None] = mapped_column(String(40))
    decision_note: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("ledger_transactions.id")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        # Maker-checker in the schema too: whoever made it never checks it.
        CheckConstraint("checker_id IS NULL OR checker_id <> maker_id", name="checker_not_maker"),
        CheckConstraint("amount_minor > 0", name="positive"),
        Index("ix_balance_adjustments_status_expires_at", "status", "expires_at"),
    )
