"""disputes, their comments, attachments and the one resolution each may have."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime, string_enum


class DisputeStatus(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class SubjectType(StrEnum):
    TOPUP = "topup"
    USAGE = "usage"  # one rated record
    USAGE_PERIOD = "usage_period"  # the tenant's usage of [period_start, period_end)
    INVOICE = "invoice"
    INVOICE_LINE = "invoice_line"


class Visibility(StrEnum):
    TENANT = "tenant"  # the tenant sees it
    INTERNAL = "internal"  # staff only


class Dispute(Base):
    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_type: Mapped[SubjectType] = mapped_column(
        string_enum(SubjectType, "dispute_subject_type")
    )
    subject_id: Mapped[str] = mapped_column(String(60))
    line_position: Mapped[int | None] = mapped_column(Integer)  # an invoice line
    period_start: Mapped[date | None] = mapped_column(Date)  # usage_period, or the usage's day
    period_end: Mapped[date | None] = mapped_column(Date)  # exclusive
    reason: Mapped[str] = mapped_column(String(2000))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)  # what the tenant disputes
    currency: Mapped[str] = mapped_column(String(3))
    priority: Mapped[Priority] = mapped_column(string_enum(Priority, "dispute_priority"))
    status: Mapped[DisputeStatus] = mapped_column(
        string_enum(DisputeStatus, "dispute_status"), default=DisputeStatus.OPEN
    )
    owner_id: Mapped[str | None] = mapped_column(String(40))  # the staff user on it
    # Who opened it: the tenant, or staff from a review item, a chargeback, a settlement
    # exception; `source_ref` names that origin, once (a repeat opens nothing new).
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(60))
    opened_by: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the SLA clock of its priority
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    comments: Mapped[list[DisputeComment]] = relationship(
        order_by="DisputeComment.id", lazy="selectin"
    )
    attachments: Mapped[list[DisputeAttachment]] = relationship(
        order_by="DisputeAttachment.created_at", lazy="selectin"
    )
    resolution: Mapped[DisputeResolution | None] = relationship(lazy="selectin")

    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        Index("ix_disputes_tenant_id_id", "tenant_id", "id"),
        Index("ix_disputes_status_due_at", "status", "due_at"),
    )


class DisputeComment(Base):
    __tablename__ = "dispute_comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"), index=True)
    author: Mapped[str] = mapped_column(String(60))
    author_role: Mapped[str] = mapped_column(String(20))
    visibility: Mapped[Visibility] = mapped_column(string_enum(Visibility, "comment_visibility"))
    body: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DisputeAttachment(Base):
    """A file the tenant or staff added: in the database, or in the configured folder."""

    __tablename__ = "dispute_attachments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    stored_path: Mapped[str | None] = mapped_column(String(300))
    uploaded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DisputeResolution(Base):
    """What was done, once per dispute: the ledger transactions and documents it made."""

    __tablename__ = "dispute_resolutions"

    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(String(1000))
    plan_id: Mapped[str | None] = mapped_column(String(40))
    request_sha256: Mapped[str] = mapped_column(String(64))
    ledger_transaction_ids: Mapped[list[int]] = mapped_column(JSON)
    documents: Mapped[dict[str, Any]] = mapped_column(JSON)  # credit notes, refunds, …
    resolved_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
