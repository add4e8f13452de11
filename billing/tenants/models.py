"""The tenants table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, UtcDateTime, string_enum
from billing.core.money import Currency


class BillingMode(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class Language(StrEnum):
    """The language a tenant's documents are printed in (invoices.pdf.labels)."""

    EN = "en"
    SW = "sw"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"  # erased (billing.privacy.erasure): its tax records are all that remain


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    msisdn: Mapped[str] = mapped_column(String(20))
    tin: Mapped[str | None] = mapped_column(String(9))
    vrn: Mapped[str | None] = mapped_column(String(9))
    billing_mode: Mapped[BillingMode] = mapped_column(string_enum(BillingMode, "billing_mode"))
    currency: Mapped[Currency] = mapped_column(string_enum(Currency, "currency"))
    # The postal address printed as the buyer's on every document (VAT Act s.86(1)(b)(v)).
    street: Mapped[str | None] = mapped_column(String(200))
    po_box: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="TZ")  # ISO 3166-1 alpha-2
    language: Mapped[Language] = mapped_column(
        string_enum(Language, "document_language"), default=Language.EN
    )
    status: Mapped[TenantStatus] = mapped_column(
        string_enum(TenantStatus, "tenant_status"), default=TenantStatus.ACTIVE
    )
    # Postpaid: days from issue to due date (each invoice keeps the terms it was issued on).
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Set by dunning once an invoice is overdue past the grace period: authorisation
    # answers `tenant_overdue` until it is paid (billing.dunning).
    overdue_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Processing restricted (PDPA): the data is kept, nothing is rated, authorised or
    # topped up until the restriction is lifted; what the law requires still runs.
    restricted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    restriction_reason: Mapped[str | None] = mapped_column(String(300))
