"""The usage_records table: every CDR and message received, rated or not, never dropped.

A record is keyed by (source_system, source_id, revision). Ingestion always writes
revision 0, so a resend collides and is reported as a duplicate. Re-rating writes the
corrected price as a new row (revision + 1) and points the old row at it; the old row
keeps its figures, so a dispute can show both.

`tenant_id` has no foreign key on purpose: a record for a tenant we do not know yet is
kept (status `rejected`, reason `unknown_tenant`) and can be rated once the tenant exists.
Nor do the ledger ids: they come from the ledger transaction posted in the same database
transaction as the row, and ledger rows can never be removed (append-only triggers), so
the two referential checks a billed row would cost (as dear as storing it) guard nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime, string_enum


class UsageStatus(StrEnum):
    PENDING = "pending"  # stored, waiting for the rating job (PostgreSQL rates at intake)
    BILLED = "billed"  # prepaid: rated and debited from the wallet (or free)
    ACCRUED = "accrued"  # postpaid: rated, net, waiting for the invoice
    UNBILLED = "unbilled"  # prepaid: rated, but the wallet could not pay it (yet)
    REJECTED = "rejected"  # could not be rated; `reason` says why; can be retried
    SUPERSEDED = "superseded"  # re-rated: `superseded_by_id` is the row that replaced it


# Reasons a rejected record may be rated again as it stands (a malformed one may not).
RETRYABLE_REASONS = frozenset(
    {"unknown_tenant", "no_plan", "no_rate", "no_destination", "no_fx_rate", "currency_mismatch"}
)


def _key(length: int) -> String:
    """An identifier column compared bytewise on PostgreSQL (migration 0012): its btree
    comparisons are a memcmp, not the C library's strcoll, and equality is unchanged."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class UsageRecord(Base):
    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_system: Mapped[str] = mapped_column(_key(40))
    source_id: Mapped[str | None] = mapped_column(_key(200))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    tenant_id: Mapped[str | None] = mapped_column(_key(40))
    service: Mapped[str] = mapped_column(String(30))
    from_number: Mapped[str] = mapped_column(String(40), default="")
    to_number: Mapped[str] = mapped_column(String(40), default="")
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())  # answer, else start
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    billable_s: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=1)
    disposition: Mapped[str] = mapped_column(String(20), default="")
    category: Mapped[str] = mapped_column(String(40), default="")
    pricing_type: Mapped[str] = mapped_column(String(40), default="regular")
    # Messages: the statuses reported so far, sorted, comma-separated (rating.message_status).
    delivery_status: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[str] = mapped_column(String(80), default="")
    linked_id: Mapped[str] = mapped_column(String(200), default="")
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what could not be read

    status: Mapped[UsageStatus] = mapped_column(
        string_enum(UsageStatus, "usage_status"), default=UsageStatus.PENDING
    )
    reason: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    # The rating breakdown, kept for disputes.
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    plan_id: Mapped[str | None] = mapped_column(String(40))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[str | None] = mapped_column(String(60))
    band: Mapped[str | None] = mapped_column(String(30))
    unit: Mapped[str | None] = mapped_column(String(20))  # second, segment, message, month
    billed_units: Mapped[int | None] = mapped_column(BigInteger)
    bundle_units: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    net_minor: Mapped[int | None] = mapped_column(BigInteger)
    vat_minor: Mapped[int | None] = mapped_column(BigInteger)  # prepaid debits only
    raw_amount: Mapped[str | None] = mapped_column(String(60))  # exact, before rounding
    fx_rate: Mapped[Any] = mapped_column(Numeric(20, 10), nullable=True)
    breakdown: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # No foreign keys (migration 0011): the ids are those of the transaction posted with
    # the row, in the same database transaction, and the ledger is append-only.
    ledger_transaction_id: Mapped[int | None] = mapped_column(BigId)
    ledger_entry_id: Mapped[int | None] = mapped_column(BigId)
    # No foreign key either (migration 0028): a key into a partitioned table would have
    # to carry the partition key.
    superseded_by_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        # The natural key; PostgreSQL wants the partition key (started_at, migration
        # 0028) in it. Intake looks keys up by (source_system, source_id) first.
        UniqueConstraint("source_system", "source_id", "revision", "started_at"),
        Index("ix_usage_records_tenant_occurred", "tenant_id", "occurred_at"),
        Index(
            "ix_usage_records_waiting",
            "status",
            "id",
            postgresql_where=text("status IN ('pending', 'unbilled', 'rejected')"),
        ),
    )


class TenantUsageFlag(Base):
    """A prepaid tenant whose usage the wallet could not pay; cleared once it can."""

    __tablename__ = "tenant_usage_flags"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(60))
    flagged_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    unbilled_records: Mapped[int] = mapped_column(Integer, default=0)


class BundleBalance(Base):
    """One bundle of one tenant over one period: units granted and drawn so far.

    Drawn only under the row lock (rating, re-rating), by relative updates, and the check
    keeps `units_used` within the grant, so two jobs can never over-draw a bundle. The
    period is `[period_start, period_end)` in local days of Africa/Dar_es_Salaam.
    """

    __tablename__ = "bundle_balances"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    bundle: Mapped[str] = mapped_column(String(60))
    service: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(10))  # day, week, month
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    units_granted: Mapped[int] = mapped_column(BigInteger)
    units_used: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "bundle", "period", "period_start"),
        Index("ix_bundle_balances_tenant_id_period_end", "tenant_id", "period_end"),
        CheckConstraint("units_used >= 0 AND units_used <= units_granted", name="within_grant"),
        CheckConstraint("period_end > period_start", name="period_span"),
    )


class AccruedUsage(Base):
    """A postpaid tenant's rated usage not invoiced yet, net, kept as a running total.

    Rating adds to it, re-rating adds the difference, a pending usage adjustment adds its
    amount, finalising a postpaid invoice takes the invoice's net off: authorisation reads
    one row instead of summing usage. Rating and finalising lock the row before reading
    what the other writes (`accruals.lock_accrued`).
    """

    __tablename__ = "accrued_usage"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AdjustmentKind(StrEnum):
    RERATE = "rerate"  # re-rating found that a finalised invoice under-billed its period
    LATE = "late"  # usage of a finalised invoice's period, rated after it was issued


class UsageAdjustment(Base):
    """Usage a finalised postpaid invoice should have billed and did not: an increase
    found by re-rating its period, or usage of its period rated late. Pending until the
    tenant's next postpaid draft bills it (`invoice_id`), released if that draft is voided.
    Counted in the accrued total while pending (`billing.usage.accruals`)."""

    __tablename__ = "usage_adjustments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[AdjustmentKind] = mapped_column(
        string_enum(AdjustmentKind, "adjustment_kind"), default=AdjustmentKind.RERATE
    )
    service: Mapped[str] = mapped_column(String(30))
    zone: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # net, > 0
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    source_invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))  # it corrects
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))  # it billed it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="positive"),
        Index("ix_usage_adjustments_invoice_id", "invoice_id"),
        Index(
            "ix_usage_adjustments_pending",
            "tenant_id",
            "currency",
            postgresql_where=text("invoice_id IS NULL"),
            sqlite_where=text("invoice_id IS NULL"),
        ),
    )


class InvoicedPeriod(Base):
    """A period of a tenant's postpaid usage that a finalised invoice billed: usage of it
    rated afterwards is late (`billing.usage.late`). Written when the invoice is booked
    (`accruals.invoiced`); a finalised invoice is never voided, so it is never removed."""

    __tablename__ = "invoiced_periods"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive

    __table_args__ = (Index("ix_invoiced_periods_tenant_id_period_end", "tenant_id", "period_end"),)


class ReservationStatus(StrEnum):
    OPEN = "open"  # held: counted against the wallet, credit limit and bundles
    SETTLED = "settled"  # the usage it was held for was rated: `usage_id`
    RELEASED = "released"  # replaced by a new authorisation of the same session
    EXPIRED = "expired"  # no usage came before `expires_at` (the sweep closes it)


class Reservation(Base):
    """What an authorisation answered, held until the usage it allowed is rated.

    Open and unexpired, it counts against what the tenant may spend next: its wallet
    (prepaid), its credit limit (postpaid), and the bundle units the held usage would
    draw. Rating settles it (by the session id the platform gave, which is the usage's
    source id, else the oldest open one of the same service and destination), and the
    rated record's own charge takes its place; past `expires_at` it counts no more.
    """

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    currency: Mapped[str] = mapped_column(String(3))
    service: Mapped[str] = mapped_column(String(30))
    destination: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[str | None] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # what the budget pays (gross)
    seconds: Mapped[int | None] = mapped_column(Integer)
    messages: Mapped[int | None] = mapped_column(Integer)
    bundle_draws: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {bundle: units}
    status: Mapped[ReservationStatus] = mapped_column(
        string_enum(ReservationStatus, "reservation_status"), default=ReservationStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    usage_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="not_negative"),
        Index(
            "ix_reservations_open",
            "tenant_id",
            "expires_at",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index(
            "uq_reservations_open_session",
            "tenant_id",
            "session_id",
            unique=True,
            postgresql_where=text("status = 'open' AND session_id IS NOT NULL"),
            sqlite_where=text("status = 'open' AND session_id IS NOT NULL"),
        ),
    )
