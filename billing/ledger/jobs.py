"""Ledger jobs: the daily integrity audit, requested by the ticker."""

from __future__ import annotations

import logging
from dataclasses import asdict

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import insert_for
from billing.jobs.outbox import defer
from billing.jobs.registry import job
from billing.ledger.integrity import find_discrepancies
from billing.ledger.models import LedgerAudit
from billing.runtime import current

log = logging.getLogger(__name__)
_audits = LedgerAudit.__table__


def request_daily_audit(session: Session) -> int | None:
    """Ask for today's audit once; later calls the same day do nothing."""
    day = utcnow().date().isoformat()
    row = session.execute(
        insert_for(session, _audits)
        .values(day=day, status="requested", requested_at=utcnow())
        .on_conflict_do_nothing()
        .returning(_audits.c.id)
    ).first()
    if row is None:
        return None
    defer(session, "ledger.audit", row.id, queue="ledger", dedupe_key=f"ledger.audit:{day}")
    return row.id


@job("ledger.audit")
def audit_ledger(audit_id: int) -> None:
    """Check every ledger invariant; a second run of the same audit finds it claimed."""
    runtime = current()
    with runtime.unit_of_work() as session:
        claimed = session.execute(
            update(_audits)
            .where(_audits.c.id == audit_id, _audits.c.status.in_(("requested", "running")))
            .values(status="running")
            .returning(_audits.c.id)
        ).first()
        if claimed is None:
            return
        found = find_discrepancies(session)
        session.execute(
            update(_audits)
            .where(_audits.c.id == audit_id)
            .values(
                status="failed" if found else "passed",
                finished_at=utcnow(),
                discrepancies=[asdict(d) for d in found],
            )
        )
    if found:
        log.error("ledger audit %s found %d discrepancies", audit_id, len(found))


def last_audit(session: Session) -> LedgerAudit | None:
    return session.execute(select(LedgerAudit).order_by(LedgerAudit.id.desc()).limit(1)).scalar()
