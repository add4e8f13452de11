"""Settlement statements and their lines, each line with what matching made of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime


class Outcome(StrEnum):
    MATCHED = "matched"  # a credited top-up, same amount and currency: settled
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    MISSING_IN_MALIPO = "missing_in_malipo"  # paid at the provider, our top-up never credited
    UNKNOWN_PAYMENT = "unknown_payment"  # paid at the provider, no top-up of ours at all
    MISSING_AT_PROVIDER = "missing_at_provider"  # credited here, absent from the statement
    DUPLICATE = "duplicate"  # settled already (an earlier line or statement)
    FEE = "fee"
    FEE_UNLINKED = "fee_unlinked"  # a charge naming no payment of the statement
    PAYOUT = "payout"
    IGNORED = "ignored"


EXCEPTIONS = (
    Outcome.AMOUNT_MISMATCH,
    Outcome.CURRENCY_MISMATCH,
    Outcome.MISSING_IN_MALIPO,
    Outcome.UNKNOWN_PAYMENT,
    Outcome.MISSING_AT_PROVIDER,
    Outcome.DUPLICATE,
)


class Statement(Base):
    """One imported statement file; the same file (by content) is imported once."""

    __tablename__ = "settlement_statements"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))  # the format: mpesa, selcom, …
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("provider", "sha256"),)


class StatementLine(Base):
    """A statement line (line_no set), or a credited top-up the statement lacks (no line)."""

    __tablename__ = "settlement_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No foreign key: its per-row trigger cost more than the matching itself on a
    # million-line statement; lines are only ever written with their statement.
    statement_id: Mapped[str] = mapped_column(String(40))
    line_no: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    provider: Mapped[str] = mapped_column(String(20))
    provider_txn_id: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))
    msisdn: Mapped[str | None] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    day: Mapped[str] = mapped_column(String(10))
    linked_txn_id: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    topup_id: Mapped[str | None] = mapped_column(String(40))
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    expected_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    expected_currency: Mapped[str | None] = mapped_column(String(3))
    review_item_id: Mapped[str | None] = mapped_column(String(40))
    # Booked on its own when a person credits a missing top-up after review.
    ledger_transaction_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_settlement_lines_statement_id_outcome", "statement_id", "outcome"),
        Index("ix_settlement_lines_topup_id", "topup_id"),
        Index("ix_settlement_lines_day_provider", "day", "provider"),
    )
