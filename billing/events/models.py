"""The platform_events table: each event told to the platform, and how telling it went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, UtcDateTime, string_enum


class EventStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # No platform URL was configured when delivery was tried: kept, not sent.
    NO_ENDPOINT = "no_endpoint"
    # Every retry was spent; a later `deliver` run may still send it.
    FAILED = "failed"


class PlatformEvent(Base):
    __tablename__ = "platform_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[EventStatus] = mapped_column(
        string_enum(EventStatus, "platform_event_status"), default=EventStatus.PENDING
    )
