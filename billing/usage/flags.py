"""Prepaid tenants whose usage the wallet could not pay: flagged, and the platform told.

The flag is set once per episode (the event with it), counts the records left
unbilled, and is cleared when the tenant has none left.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.events.service import emit
from billing.usage.models import TenantUsageFlag, UsageRecord, UsageStatus

INSUFFICIENT_BALANCE = "insufficient_balance"
EVENT = "usage.insufficient_balance"


def _unbilled(session: Session, tenant_id: str) -> int:
    return session.execute(
        select(func.count())
        .select_from(UsageRecord)
        .where(UsageRecord.tenant_id == tenant_id, UsageRecord.status == UsageStatus.UNBILLED)
    ).scalar_one()


def flag_insufficient_balance(session: Session, tenant_id: str) -> bool:
    """Flag the tenant; True (and an event to the platform) when it was not flagged yet."""
    unbilled = _unbilled(session, tenant_id)
    flag = session.get(TenantUsageFlag, tenant_id, with_for_update=True)
    if flag is not None:
        flag.unbilled_records = unbilled
        return False
    session.add(
        TenantUsageFlag(
            tenant_id=tenant_id,
            reason=INSUFFICIENT_BALANCE,
            flagged_at=utcnow(),
            unbilled_records=unbilled,
        )
    )
    session.flush()
    emit(
        session,
        tenant_id=tenant_id,
        type=EVENT,
        data={"tenant_id": tenant_id, "unbilled_records": unbilled},
    )
    return True


def clear_flag_if_paid_up(session: Session, tenant_id: str) -> None:
    if session.get(TenantUsageFlag, tenant_id) is None:
        return
    if not _unbilled(session, tenant_id):
        session.execute(delete(TenantUsageFlag).where(TenantUsageFlag.tenant_id == tenant_id))


def is_flagged(session: Session, tenant_id: str) -> bool:
    return session.get(TenantUsageFlag, tenant_id) is not None
