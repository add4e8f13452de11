"""Each dunning step taken, once: a reminder of an invoice, a restriction, its lifting."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime, string_enum


class DunningStepKind(StrEnum):
    REMINDER = "reminder"  # the n-th reminder of an overdue invoice (`level`)
    RESTRICTED = "restricted"  # past the grace period: authorise answers tenant_overdue
    LIFTED = "lifted"  # paid: the restriction is lifted


class DunningStep(Base):
    """Append-only. Unique per invoice, kind and level: a rerun of the schedule (or two
    racing ones) takes each step once."""

    __tablename__ = "dunning_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[DunningStepKind] = mapped_column(string_enum(DunningStepKind, "dunning_step"))
    level: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("invoice_id", "kind", "level"),)
