"""audit_events: append-only (PostgreSQL refuses UPDATE and DELETE, migration 0008) and
hash-chained (migration 0020): each event carries the hash of the one before it on its
chain, and `audit_chain_heads` holds each chain's last hash, locked by whoever appends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(60))  # a staff user id, a key id, or "system"
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(60))
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    role: Mapped[str | None] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    # The chain: `tenant:<id>` or `platform`; events written before 0020 have none.
    chain: Mapped[str | None] = mapped_column(String(60))
    seq: Mapped[int | None] = mapped_column(BigInteger)  # 1, 2, … along its chain
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        Index("ix_audit_events_tenant_id_id", "tenant_id", "id"),  # a tenant's trail, by cursor
        Index("ix_audit_events_chain_id", "chain", "id"),  # a chain, in order, for verify
    )


class AuditChainHead(Base):
    """The last link of a chain; its row lock orders the chain's concurrent writers."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_id: Mapped[int | None] = mapped_column(BigInteger)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(BigInteger, default=0)
