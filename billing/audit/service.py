"""Recording an audit event in the transaction of the change it describes (chained at
commit: `billing.audit.chain`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.chain import chain_of, plain_json, queue
from billing.audit.models import AuditEvent
from billing.core.clock import utcnow
from billing.web.request_meta import current_meta

SYSTEM = "system"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    tenant_id: str | None = None,
    detail: dict[str, Any] | None = None,
    role: str | None = None,
    request_id: str | None = None,
    client_address: str | None = None,
) -> None:
    """One audit event; it is written, and chained, only if the caller's change commits.

    Inside an HTTP request the caller's role, the request id and the client address are
    taken from the request unless given."""
    meta = current_meta()
    if meta is not None:
        role = role or meta.role
        request_id = request_id or meta.request_id
        client_address = client_address or meta.client_address
    queue(
        session,
        {
            "at": utcnow(),
            "actor": actor,
            "role": role,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "tenant_id": tenant_id,
            "detail": plain_json(detail or {}),
            "request_id": request_id,
            "client_address": client_address,
            "chain": chain_of(tenant_id),
        },
    )


def trail(session: Session, subject_type: str, subject_id: str) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class AuditFilter:
    tenant_id: str | None = None
    actor: str | None = None
    action: str | None = None  # exact, or a prefix when it ends in "."
    subject_type: str | None = None
    subject_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def list_events(
    session: Session, where: AuditFilter, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    """Events matching every given filter, newest first, below `before_id` (the cursor)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    exact = {
        AuditEvent.tenant_id: where.tenant_id,
        AuditEvent.actor: where.actor,
        AuditEvent.subject_type: where.subject_type,
        AuditEvent.subject_id: where.subject_id,
    }
    for column, value in exact.items():
        if value is not None:
            query = query.where(column == value)
    if where.action is not None:
        if where.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(where.action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == where.action)
    if where.since is not None:
        query = query.where(AuditEvent.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.at < where.until)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.execute(query).scalars())
