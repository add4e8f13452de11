"""Prepaid tenants whose usage the wallet could not pay: flagged, and the platform told.

The flag is set once per episode (the event with it), counts the records left
unbilled, and is cleared when the tenant has none left.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def clear_flag_if_paid_up(session: Session, tenant_id: str, flagged: bool | None = None) -> None:
    """Unflag the tenant if it has nothing unbilled; `flagged`, if known, saves a lookup."""
    if flagged is None:
        flagged = session.get(TenantUsageFlag, tenant_id) is not None
    if not flagged:
        return
    if not _unbilled(session, tenant_id):
        session.execute(delete(TenantUsageFlag).where(TenantUsageFlag.tenant_id == tenant_id))


def flagged_among(session: Session, tenant_ids: Iterable[str]) -> set[str]:
    """Which of these tenants are flagged, in one query (a batch settles every tenant it
    holds, and nearly none is flagged: looked up one by one, a round trip a tenant)."""
    wanted = set(tenant_ids)
    if not wanted:
        return set()
    found = session.execute(
        select(TenantUsageFlag.tenant_id).where(TenantUsageFlag.tenant_id.in_(sorted(wanted)))
    )
    return set(found.scalars())


def is_flagged(session: Session, tenant_id: str) -> bool:
    return session.get(TenantUsageFlag, tenant_id) is not None
