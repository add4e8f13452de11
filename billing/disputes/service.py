"""Disputes' use cases, one transaction each: open, find, list, take on, comment.

`open_dispute` is the one door: the tenant's POST, a review item, a card chargeback or a
settlement exception all come through it (a `source_ref` opens one dispute, once).
Resolving is `billing.disputes.resolutions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.auth.models import StaffUser
from billing.core.clock import utcnow
from billing.core.errors import Conflict, InvalidInput
from billing.core.finders import newest_first, owned
from billing.core.ids import new_id
from billing.disputes import attachments, states
from billing.disputes.models import (
    Dispute,
    DisputeComment,
    DisputeStatus,
    Priority,
    SubjectType,
    Visibility,
)
from billing.disputes.notify import tell_tenant
from billing.disputes.subjects import find_subject

SOURCES = ("tenant", "staff", "review_item", "chargeback", "settlement")


def open_dispute(
    session: Session,
    *,
    tenant_id: str,
    subject_kind: str,
    subject_id: str | None,
    message: str,
    opened_by: str,
    priority: str = "normal",
    line: int | None = None,
    period: tuple[date, date] | None = None,
    amount_minor: int | None = None,
    source: str = "tenant",
    source_ref: str | None = None,
    uploads: Sequence[attachments.Upload] = (),
    attachment_dir: str | None = None,
) -> Dispute:
    """Open a dispute on the tenant's own subject; with a `source_ref`, a repeat returns the
    dispute the first opened."""
    if source not in SOURCES:
        raise ValueError(f"unknown dispute source {source!r}")
    if source_ref is not None:
        found = session.execute(
            select(Dispute).where(Dispute.source == source, Dispute.source_ref == source_ref)
        ).scalar()
        if found is not None:
            return found
    try:
        kind = SubjectType(subject_kind)
        wanted = Priority(priority)
    except ValueError as error:
        raise InvalidInput.on("subject_type", str(error)) from None
    subject = find_subject(session, tenant_id, kind, subject_id, line=line, period=period)
    if not message.strip():
        raise InvalidInput.on("reason", "say what is wrong")
    attachments.check(list(uploads))
    now = utcnow()
    dispute = Dispute(
        id=new_id("dsp"),
        tenant_id=tenant_id,
        subject_type=subject.type,
        subject_id=subject.id,
        line_position=subject.line_position,
        period_start=subject.period[0] if subject.period else None,
        period_end=subject.period[1] if subject.period else None,
        reason=message,
        amount_minor=amount_minor,
        currency=subject.currency,
        priority=wanted,
        status=DisputeStatus.OPEN,
        source=source,
        source_ref=source_ref,
        opened_by=opened_by,
        due_at=states.due_at(now, wanted.value),
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():  # a racing twin from the same origin: its dispute
            session.add(dispute)
    except IntegrityError:
        if source_ref is None:
            raise
        return session.execute(
            select(Dispute).where(Dispute.source == source, Dispute.source_ref == source_ref)
        ).scalar_one()
    for upload in uploads:
        session.add(attachments.store(upload, dispute.id, opened_by, attachment_dir))
    session.flush()
    session.refresh(dispute)
    record(
        session,
        actor=opened_by,
        action="dispute.opened",
        subject_type="dispute",
        subject_id=dispute.id,
        tenant_id=tenant_id,
        detail={
            "source": source,
            "source_ref": source_ref,
            "subject_type": kind.value,
            "subject_id": subject.id,
            "priority": wanted.value,
            "after": {"status": "open"},
        },
    )
    tell_tenant(session, dispute, "opened")
    return dispute


def get_dispute(
    session: Session, dispute_id: str, tenant_id: str | None, *, lock: bool = False
) -> Dispute:
    """A dispute; a tenant asking for another tenant's gets 404."""
    return owned(session, Dispute, dispute_id, tenant_id, "dispute", lock=lock)


def list_disputes(
    session: Session,
    *,
    tenant_id: str | None,
    status: str | None,
    owner_id: str | None,
    before: str | None,
    limit: int,
) -> list[Dispute]:
    return newest_first(session, Dispute, tenant_id=tenant_id, before=before, limit=limit,
                        status=status, owner_id=owner_id)  # fmt: skip


def take_on(
    session: Session,
    dispute_id: str,
    *,
    actor: str,
    owner_id: str | None,
    priority: str | None,
) -> Dispute:
    """Staff: name the owner (default the caller), maybe a new priority; open → investigating."""
    dispute = get_dispute(session, dispute_id, None, lock=True)
    if dispute.status.value in states.CLOSED:
        raise Conflict(f"dispute {dispute_id} is {dispute.status.value}")
    before = {
        "status": dispute.status.value,
        "owner_id": dispute.owner_id,
        "priority": dispute.priority.value,
    }
    if owner_id is not None and session.get(StaffUser, owner_id) is None:
        raise InvalidInput.on("owner_id", "not a staff user")
    dispute.owner_id = owner_id or actor
    if priority is not None and priority != dispute.priority.value:
        dispute.priority = Priority(priority)
        dispute.due_at = states.due_at(dispute.created_at, priority)
    changed_state = dispute.status is DisputeStatus.OPEN
    if changed_state:
        dispute.status = DisputeStatus(states.move(dispute.status.value, states.INVESTIGATING))
    dispute.updated_at = utcnow()
    after = {
        "status": dispute.status.value,
        "owner_id": dispute.owner_id,
        "priority": dispute.priority.value,
    }
    record(
        session,
        actor=actor,
        action="dispute.taken_on",
        subject_type="dispute",
        subject_id=dispute.id,
        tenant_id=dispute.tenant_id,
        detail={"before": before, "after": after},
    )
    if changed_state:
        tell_tenant(session, dispute, "investigating")
    return dispute


def add_comment(
    session: Session,
    dispute_id: str,
    *,
    author: str,
    role: str,
    is_staff: bool,
    tenant_id: str | None,
    body: str,
    visibility: str,
) -> DisputeComment:
    """A tenant's comment is always visible to it; staff choose internal or visible."""
    dispute = get_dispute(session, dispute_id, tenant_id, lock=True)
    if not is_staff and visibility != Visibility.TENANT.value:
        raise InvalidInput.on("visibility", "a tenant's comments are visible to it")
    if dispute.status.value in states.CLOSED and not is_staff:
        raise Conflict(f"dispute {dispute_id} is {dispute.status.value}: open a new one")
    comment = DisputeComment(
        dispute_id=dispute.id,
        author=author,
        author_role=role,
        visibility=Visibility(visibility),
        body=body,
    )
    session.add(comment)
    dispute.updated_at = utcnow()
    session.flush()
    if is_staff:
        record(
            session,
            actor=author,
            action="dispute.commented",
            subject_type="dispute",
            subject_id=dispute.id,
            tenant_id=dispute.tenant_id,
            detail={"comment_id": comment.id, "visibility": visibility},
        )
    if comment.visibility is Visibility.TENANT and is_staff:
        tell_tenant(session, dispute, "comment_added", comment_id=comment.id)
    session.refresh(dispute)
    return comment


def visible_comments(dispute: Dispute, is_staff: bool) -> list[DisputeComment]:
    """Staff read every comment; a tenant never reads an internal one."""
    return [c for c in dispute.comments if is_staff or c.visibility is Visibility.TENANT]
