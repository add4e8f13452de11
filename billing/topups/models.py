"""Top-ups, the callback inbox, and review items (money facts that need a person)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime, string_enum
from billing.topups.states import Initiation, RefundStatus, TopupStatus  # also read from here


class Topup(Base):
    __tablename__ = "topups"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    msisdn: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[TopupStatus] = mapped_column(
        string_enum(TopupStatus, "topup_status"), default=TopupStatus.PENDING
    )
    initiation: Mapped[Initiation] = mapped_column(
        string_enum(Initiation, "initiation"), default=Initiation.NOT_SENT
    )
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    provider_txn_id: Mapped[str | None] = mapped_column(String(100))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    # What proved the credit and which of amount, currency and payer the provider reported.
    verification: Mapped[dict[str, str] | None] = mapped_column(JSON)
    ledger_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    # Pushes that never reached the provider (retryable answers); each is re-sent later.
    initiate_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checks: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    refunds: Mapped[list[Refund]] = relationship(
        order_by="Refund.created_at", lazy="selectin", viewonly=True
    )

    __table_args__ = (
        UniqueConstraint("provider", "provider_txn_id"),
        Index("ix_topups_due", "next_check_at"),
    )

    @property
    def latest_refund(self) -> Refund | None:
        return self.refunds[-1] if self.refunds else None

    @property
    def refund_status(self) -> RefundStatus | None:
        """The newest refund's state (API.md: the refund answer says where it stands)."""
        return self.latest_refund.status if self.latest_refund else None

    @property
    def refund_amount_minor(self) -> int | None:
        return self.latest_refund.amount_minor if self.latest_refund else None

    @property
    def refund_reason(self) -> str | None:
        return self.latest_refund.reason if self.latest_refund else None


class Refund(Base):
    """Money given back for a credited top-up; several partial ones where allowed.

    The wallet is debited (`debit_transaction_id`) when the refund is requested; a
    refusal is undone by `reversal_transaction_id`.
    """

    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    topup_id: Mapped[str] = mapped_column(ForeignKey("topups.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[RefundStatus] = mapped_column(
        string_enum(RefundStatus, "refund_status"), default=RefundStatus.REQUESTED
    )
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    provider_txn_id: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    debit_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    reversal_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transactions.id")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_refunds_status_updated", "status", "updated_at"),)


class InboxStatus(StrEnum):
    RECEIVED = "received"
    APPLYING = "applying"
    APPLIED = "applied"
    REJECTED = "rejected"  # forged or malformed: kept as evidence, never applied
    NEEDS_REVIEW = "needs_review"


class CallbackDelivery(Base):
    """A provider's callback, stored raw before it is acted on.

    One row per fact (provider + dedupe key); repeats of the fact count `deliveries`.
    Rejected requests have no dedupe key, so each is kept.
    """

    __tablename__ = "callback_inbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[InboxStatus] = mapped_column(string_enum(InboxStatus, "inbox_status"))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    event: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    topup_id: Mapped[str | None] = mapped_column(ForeignKey("topups.id"))
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    # Sweeps that tried to apply it; past a bound it is parked as needs_review.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("provider", "dedupe_key"),
        Index("ix_callback_inbox_status", "status", "received_at"),
    )


class ReviewStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ReviewItem(Base):
    __tablename__ = "review_items"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    topup_id: Mapped[str | None] = mapped_column(ForeignKey("topups.id"))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("callback_inbox.id"))
    summary: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[ReviewStatus] = mapped_column(
        string_enum(ReviewStatus, "review_status"), default=ReviewStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (UniqueConstraint("kind", "topup_id", "inbox_id"),)
