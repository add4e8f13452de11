"""Telling the tenant of every change to its dispute: a platform event, and an e-mail sent
after commit by a job (`disputes.notify`). Internal comments tell the tenant nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.disputes.models import Dispute
from billing.events.service import emit
from billing.jobs.outbox import defer

NOTIFY_JOB = "disputes.notify"
CHANGES = {
    "opened": "was opened",
    "investigating": "is being investigated",
    "comment_added": "has a new comment",
    "resolved": "was resolved",
    "rejected": "was rejected",
    "attachment_added": "has a new attachment",
}


def tell_tenant(session: Session, dispute: Dispute, change: str, **extra: object) -> str:
    """The event (`dispute.<change>`) and its e-mail, both only if the change commits."""
    data = {
        "dispute_id": dispute.id,
        "status": dispute.status.value,
        "subject_type": dispute.subject_type.value,
        "subject_id": dispute.subject_id,
        "change": change,
        **extra,
    }
    event_id = emit(session, tenant_id=dispute.tenant_id, type=f"dispute.{change}", data=data)
    defer(session, NOTIFY_JOB, dispute.id, event_id, change, dedupe_key=f"{NOTIFY_JOB}:{event_id}")
    return event_id


def message_for(dispute: Dispute, change: str, tenant_name: str) -> tuple[str, str]:
    """The e-mail's subject and body: what changed and where to read more."""
    what = CHANGES.get(change, change)
    subject = f"Your billing dispute {dispute.id} {what}"
    body = (
        f"Dear {tenant_name},\n\n"
        f"Your dispute {dispute.id} about {dispute.subject_type.value.replace('_', ' ')} "
        f"{dispute.subject_id} {what}. It is now {dispute.status.value}.\n"
        f"Read it with GET /v1/disputes/{dispute.id}.\n"
    )
    if dispute.resolution is not None and change in ("resolved", "rejected"):
        body += f"\nOutcome: {dispute.resolution.outcome}. {dispute.resolution.note}\n"
    return subject, body
