"""Invoices, their lines, the numbering counters and the VFD's fiscal counter.

Numbers come from counter rows locked in the finalising transaction, never from a
sequence: a sequence value survives a rollback and leaves a gap, a row update does not.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime, string_enum, written
from billing.invoicing.states import DocumentKind, FiscalStatus, InvoiceSource, InvoiceStatus


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"  # nothing left to pay: paid in full, or the rest credited


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    MOBILE_MONEY = "mobile_money"
    CHEQUE = "cheque"
    CASH = "cash"


class InvoicePayment(Base):
    """The customer paying (part of) a postpaid invoice: append-only, booked once."""

    __tablename__ = "invoice_payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[PaymentMethod] = mapped_column(string_enum(PaymentMethod, "payment_method"))
    reference: Mapped[str] = mapped_column(String(100))  # the bank's or operator's
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ledger_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    recorded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    # One bank transfer or mobile-money receipt settles invoices once, not twice.
    __table_args__ = (UniqueConstraint("method", "reference"),)


class CreditUse(StrEnum):
    APPLIED = "applied"  # to another of the tenant's invoices
    REFUNDED = "refunded"  # paid back to the customer


class InvoiceCredit(Base):
    """What became of a customer credit: a postpaid invoice credited below what was paid
    on it (a credit note after payment) holds the excess, which is applied to the
    tenant's open invoices or refunded. Append-only.

    Applying moves nothing in the ledger (both invoices are the tenant's `receivable`);
    a refund is one transaction, `receivable` → the method's clearing account."""

    __tablename__ = "invoice_credits"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    from_invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    use: Mapped[CreditUse] = mapped_column(string_enum(CreditUse, "credit_use"))
    to_invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # A refund's: how the money went back, and its booking.
    method: Mapped[PaymentMethod | None] = mapped_column(
        string_enum(PaymentMethod, "payment_method")
    )
    reference: Mapped[str | None] = mapped_column(String(100))
    ledger_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    recorded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    # A refund is recorded once per method and reference, like a payment.
    __table_args__ = (UniqueConstraint("use", "method", "reference"),)


class InvoiceSeries(Base):
    """One gapless series: `INV-000123`. `last_number` is updated under a row lock."""

    __tablename__ = "invoice_series"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0)


class VfdCounter(Base):
    """The VFD's receipt counters: GC (global, never resets) and DC (per EAT day)."""

    __tablename__ = "vfd_counters"

    efd_serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_gc: Mapped[int] = mapped_column(BigInteger, default=0)
    last_day: Mapped[str] = mapped_column(String(10), default="")
    last_dc: Mapped[int] = mapped_column(Integer, default=0)
    # The fiscal drainer's lease: one process posts this VFD's receipts at a time.
    drain_token: Mapped[str | None] = mapped_column(String(16))
    drain_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(string_enum(DocumentKind, "document_kind"))
    source: Mapped[InvoiceSource] = mapped_column(string_enum(InvoiceSource, "invoice_source"))
    status: Mapped[InvoiceStatus] = mapped_column(
        string_enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.DRAFT
    )
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)  # exclusive
    topup_id: Mapped[str | None] = mapped_column(ForeignKey("topups.id"), unique=True)
    original_invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    prices_include_vat: Mapped[bool] = mapped_column(Boolean, default=False)
    # USD documents: TZS per unit, its source and its date (fixed at finalise).
    exchange_rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    rate_source: Mapped[str | None] = mapped_column(String(100))
    rate_on: Mapped[date | None] = mapped_column(Date)

    # Fixed at finalise.
    series: Mapped[str | None] = mapped_column(String(10))
    number: Mapped[int | None] = mapped_column(BigInteger)
    number_text: Mapped[str | None] = mapped_column(String(30))
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    parties: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # seller and buyer, frozen
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    gross_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    # The fiscal receipt: signed once at finalise, resent byte for byte until ACK 0.
    fiscal_status: Mapped[FiscalStatus] = mapped_column(
        string_enum(FiscalStatus, "fiscal_status"), default=FiscalStatus.NOT_DUE
    )
    efd_serial: Mapped[str | None] = mapped_column(String(40))
    gc: Mapped[int | None] = mapped_column(BigInteger)
    dc: Mapped[int | None] = mapped_column(Integer)
    znum: Mapped[str | None] = mapped_column(String(8))
    rctvnum: Mapped[str | None] = mapped_column(String(40))
    receipt_time: Mapped[str | None] = mapped_column(String(8))  # HH:MM:SS, EAT
    receipt_body: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    fiscal_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_ack_code: Mapped[int | None] = mapped_column(Integer)
    last_fiscal_error: Mapped[str | None] = mapped_column(String(500))
    fiscalised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A receipt TRA took whose answer we lost, confirmed by a person (`confirmation`).
    fiscal_confirmed_by: Mapped[str | None] = mapped_column(String(60))
    fiscal_confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    tra_verification: Mapped[str | None] = mapped_column(String(60))

    # The rendered PDF (again after ACK) and its delivery.
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_version: Mapped[int] = mapped_column(Integer, default=0)
    pdf_has_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_to: Mapped[str | None] = mapped_column(String(254))
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_delivery_error: Mapped[str | None] = mapped_column(String(500))
    # VAT Act s.86(4): one original. When it left us (e-mailed, or the first download
    # when there is no e-mail) and how; every rendering or download after that is a COPY.
    original_released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    original_released_via: Mapped[str | None] = mapped_column(String(10))
    pdf_is_copy: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    copies_issued: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Postpaid: when it falls due (the tenant's payment terms at finalise), and dunning.
    due_on: Mapped[date | None] = mapped_column(Date)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # What the customer has paid (postpaid invoices; a top-up receipt is paid by its top-up).
    payment_status: Mapped[PaymentStatus | None] = mapped_column(
        string_enum(PaymentStatus, "payment_status")
    )
    amount_paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Customer credit (`InvoiceCredit`): brought in from the tenant's other invoices, and
    # taken out of this one (applied elsewhere or refunded).
    credit_applied_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_used_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by="InvoiceLine.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("series", "number"),
        UniqueConstraint("efd_serial", "gc"),
        # One live postpaid invoice per (tenant, period): invoice runs are idempotent, and
        # a voided draft leaves the period to be drafted again.
        Index(
            "uq_invoices_postpaid_period",
            "tenant_id",
            "period_start",
            "period_end",
            unique=True,
            postgresql_where=text("source = 'postpaid' AND status <> 'void'"),
            sqlite_where=text("source = 'postpaid' AND status <> 'void'"),
        ),
        Index(
            "ix_invoices_fiscal_queue",
            "efd_serial",
            "gc",
            postgresql_where=text("fiscal_status = 'pending'"),
            sqlite_where=text("fiscal_status = 'pending'"),
        ),
    )


class InvoiceLine(Base):
    """What is billed, as the caller priced it; VAT is worked out by `invoices.document`."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    unit: Mapped[str] = mapped_column(String(20), default="")
    unit_price: Mapped[Decimal] = mapped_column(Numeric(28, 10))  # major units
    vat_code: Mapped[str] = mapped_column(String(1), default="A")
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # net, or gross if prices include VAT
    # What a usage line bills, so each document names it in its own language
    # (invoices.pdf.wording); `adjustment` ("rerate", "late") of `adjusts_month` (YYYY-MM).
    # A finalised credit note's line: the VAT it credits, capped at what the invoice
    # charged on the line and the rate (billing.invoicing.credit_vat). None: by the rule.
    vat_minor: Mapped[int | None] = mapped_column(BigInteger)
    service: Mapped[str | None] = mapped_column(String(40))
    zone: Mapped[str | None] = mapped_column(String(40))
    adjustment: Mapped[str | None] = mapped_column(String(10))
    adjusts_month: Mapped[str | None] = mapped_column(String(7))


class ZReportStatus(StrEnum):
    PENDING = "pending"  # sealed, waiting for TRA (or for its turn)
    ACKNOWLEDGED = "acknowledged"  # ACK 0: never sent again


class DailyZReport(Base):
    """One VFD day's `<ZREPORT>`, signed once and resent byte for byte until ACK 0."""

    __tablename__ = "vfd_zreports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    efd_serial: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)  # the business day reported (ZNUMBER), EAT
    status: Mapped[ZReportStatus] = mapped_column(
        string_enum(ZReportStatus, "zreport_status"), default=ZReportStatus.PENDING
    )
    # The signed <EFDMS> envelope.
    body: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    tickets: Mapped[int] = mapped_column(Integer)
    daily_total_minor: Mapped[int] = mapped_column(BigInteger)  # TZS, VAT-inclusive
    gross_minor: Mapped[int] = mapped_column(BigInteger)  # cumulative since registration
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_ack_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("efd_serial", "day"),)


# Receipts waiting for TRA, as `ix_invoices_fiscal_queue` is written: so stated, the
# fiscal queue's reads use the index under any plan (`billing.core.db.written`).
AWAITING_TRA = Invoice.fiscal_status == written(FiscalStatus.PENDING.value)
