"""Tariff tables: destination prefixes, rate plans and their versions, assignment, FX.

Rows that rating depends on are never edited in place: a plan change is a new version,
a reassignment is a new assignment row, a new prefix row closes the old one at its start.
That is what lets the loader cache by (plan id, version) and a dispute replay a rating.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

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
)
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime


class DestinationPrefix(Base):
    """One effective-dated prefix row: E.164 digits -> zone, valid over [from, to)."""

    __tablename__ = "destination_prefixes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(15))
    zone: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    operator: Mapped[str] = mapped_column(String(40), default="")
    market: Mapped[str] = mapped_column(String(40), default="")
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_destination_prefixes_prefix", "prefix"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="valid_span"
        ),
    )


class RatePlan(Base):
    """A named plan; what it charges lives in its versions."""

    __tablename__ = "rate_plans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RatePlanVersion(Base):
    """One immutable version. At an instant the highest version with valid_from <= it applies
    (so a corrected version can reach back), unless that version's valid_to has passed."""

    __tablename__ = "rate_plan_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("rate_plans.id"))
    version: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The validated definition on the wire form (decimals as strings): rates, increments,
    # rounding, time bands, bundles. billing.tariffs.codec turns it into a rating.RatePlan.
    definition: Mapped[dict] = mapped_column(JSON)
    definition_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("plan_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_span"),
        CheckConstraint("currency IN ('TZS', 'USD')", name="currency"),
    )


class PlanAssignment(Base):
    """A tenant's plan from valid_from (until the next assignment, or valid_to), with its
    rate overrides and, for postpaid tenants, a credit limit in the tenant's currency."""

    __tablename__ = "tenant_rate_plans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    plan_id: Mapped[str] = mapped_column(ForeignKey("rate_plans.id"))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Rate entries in the plan's wire form that replace the plan's own for this tenant.
    overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    credit_limit_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_tenant_rate_plans_tenant_id_valid_from", "tenant_id", "valid_from"),
        Index("ix_tenant_rate_plans_plan_id", "plan_id"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_span"),
        CheckConstraint(
            "credit_limit_minor IS NULL OR credit_limit_minor >= 0", name="credit_limit"
        ),
    )


class FxRateRow(Base):
    """A daily rate: `rate` units of quote currency per base unit (TZS per USD), with source."""

    __tablename__ = "fx_rates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    base_currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 8))
    source: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("day", "base_currency", "quote_currency"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("base_currency <> quote_currency", name="distinct_currencies"),
    )


class TariffGeneration(Base):
    """A counter per shared table set ('destinations', 'fx'), bumped by every load, so a
    process can tell with one tiny read whether its cached copy is still current."""

    __tablename__ = "tariff_generations"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
