"""Recording an audit event in the transaction of the change it describes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.models import AuditEvent
from billing.core.clock import utcnow

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
) -> None:
    """One audit row; it exists only if the caller's change commits."""
    session.add(
        AuditEvent(
            at=utcnow(),
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            tenant_id=tenant_id,
            detail=detail or {},
        )
    )


def trail(session: Session, subject_type: str, subject_id: str) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    return list(session.execute(query).scalars())
