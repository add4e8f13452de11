"""Data exports and erasure requests (migration 0027)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, UtcDateTime, string_enum


class ExportStatus(StrEnum):
    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"  # the archive is deleted


class DataExport(Base):
    __tablename__ = "data_exports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(40))  # the API key's id: only it downloads
    status: Mapped[ExportStatus] = mapped_column(string_enum(ExportStatus, "export_status"))
    file_name: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ErasureStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"


class ErasureRequest(Base):
    __tablename__ = "erasure_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(40))
    status: Mapped[ErasureStatus] = mapped_column(string_enum(ErasureStatus, "erasure_status"))
    decided_by: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(300))
    # What was erased, pseudonymised and kept (with the law that keeps it): counts and
    # table names only, never the data.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
