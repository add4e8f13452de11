"""Manual credits and debits of a wallet, with maker-checker above a threshold.

At or below the currency's threshold an adjustment is posted at once; above it, it waits
(`pending`) for a second staff member, who is never the maker (refused here, and by a
CHECK in the schema), until it expires. Approving locks the row: of two checkers racing,
the first posts and the second finds it decided (409). Every step writes an audit event
in its own transaction; the ledger posting carries the adjustment's id as its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
from billing.balance_adjustments.models import (
    REASON_CODES,
    AdjustmentStatus,
    BalanceAdjustment,
    Direction,
)
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.core.errors import Conflict, Forbidden, InvalidInput
from billing.core.finders import newest_first, owned
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.ledger.postings import ADJUSTMENTS, WALLET, Posting
from billing.ledger.service import post_transaction
from billing.tenants.service import get_tenant


@dataclass(frozen=True)
class NewAdjustment:
    tenant_id: str
    direction: Direction
    amount_minor: int
    currency: str
    reason_code: str
    note: str


def create(
    session: Session, settings: Settings, new: NewAdjustment, *, maker: str
) -> BalanceAdjustment:
    tenant = get_tenant(session, new.tenant_id)
    if new.currency != tenant.currency.value:
        raise InvalidInput.on("currency", f"the tenant's wallet is in {tenant.currency.value}")
    if new.reason_code not in REASON_CODES:
        raise InvalidInput.on("reason_code", f"one of {', '.join(REASON_CODES)}")
    threshold = settings.adjustment_thresholds.get(new.currency, 0)
    waits = new.amount_minor > threshold
    now = utcnow()
    adjustment = BalanceAdjustment(
        id=new_id("adj"),
        tenant_id=tenant.id,
        direction=new.direction,
        amount_minor=new.amount_minor,
        currency=new.currency,
        reason_code=new.reason_code,
        note=new.note,
        status=AdjustmentStatus.PENDING,
        maker_id=maker,
        expires_at=now + timedelta(hours=settings.adjustment_expiry_hours) if waits else None,
        created_at=now,
    )
    session.add(adjustment)
    session.flush()
    record(
        session,
        actor=maker,
        action="adjustment.requested",
        subject_type="adjustment",
        subject_id=adjustment.id,
        tenant_id=tenant.id,
        detail={"after": _state(adjustment), "threshold_minor": threshold, "needs_checker": waits},
    )
    if not waits:
        _apply(session, adjustment, checker=None, actor=maker)
    return adjustment


def approve(
    session: Session, adjustment_id: str, *, checker: str, note: str | None
) -> BalanceAdjustment:
    adjustment = _pending(session, adjustment_id, checker)
    adjustment.decision_note = note
    _apply(session, adjustment, checker=checker, actor=checker)
    return adjustment


def reject(session: Session, adjustment_id: str, *, checker: str, note: str) -> BalanceAdjustment:
    adjustment = _pending(session, adjustment_id, checker)
    before = _state(adjustment)
    adjustment.status = AdjustmentStatus.REJECTED
    adjustment.checker_id, adjustment.decision_note = checker, note
    adjustment.decided_at = utcnow()
    record(
        session,
        actor=checker,
        action="adjustment.rejected",
        subject_type="adjustment",
        subject_id=adjustment.id,
        tenant_id=adjustment.tenant_id,
        detail={"before": before, "after": _state(adjustment), "note": note},
    )
    return adjustment


def get(session: Session, adjustment_id: str, *, lock: bool = False) -> BalanceAdjustment:
    return owned(session, BalanceAdjustment, adjustment_id, None, "adjustment", lock=lock)


def list_adjustments(
    session: Session, *, tenant_id: str | None, status: str | None, before: str | None, limit: int
) -> list[BalanceAdjustment]:
    return newest_first(session, BalanceAdjustment, tenant_id=tenant_id, before=before,
                        limit=limit, status=status)  # fmt: skip


def expire_pending(session: Session) -> int:
    """Pending adjustments past their time: expired, each with its audit event."""
    now = utcnow()
    expired = session.execute(
        update(BalanceAdjustment)
        .where(
            BalanceAdjustment.status == AdjustmentStatus.PENDING,
            BalanceAdjustment.expires_at <= now,
        )
        .values(status=AdjustmentStatus.EXPIRED, decided_at=now)
        .returning(BalanceAdjustment.id, BalanceAdjustment.tenant_id)
        .execution_options(synchronize_session=False)
    ).all()
    for row in expired:
        record(
            session,
            actor=SYSTEM,
            action="adjustment.expired",
            subject_type="adjustment",
            subject_id=row.id,
            tenant_id=row.tenant_id,
            detail={"before": {"status": "pending"}, "after": {"status": "expired"}},
        )
    return len(expired)


def _pending(session: Session, adjustment_id: str, checker: str) -> BalanceAdjustment:
    adjustment = get(session, adjustment_id, lock=True)  # racing checkers queue here
    if adjustment.maker_id == checker:
        raise Forbidden("the maker of an adjustment never checks it: a second staff member must")
    if (
        adjustment.status is AdjustmentStatus.PENDING
        and adjustment.expires_at is not None
        and (adjustment.expires_at <= utcnow())
    ):
        raise Conflict(f"adjustment {adjustment_id} expired at {adjustment.expires_at.isoformat()}")
    if adjustment.status is not AdjustmentStatus.PENDING or adjustment.expires_at is None:
        raise Conflict(f"adjustment {adjustment_id} is {adjustment.status.value}")
    return adjustment


def _apply(
    session: Session, adjustment: BalanceAdjustment, *, checker: str | None, actor: str
) -> None:
    before = _state(adjustment)
    sign = 1 if adjustment.direction is Direction.CREDIT else -1
    amount = sign * adjustment.amount_minor
    currency = Currency(adjustment.currency)
    posted = post_transaction(
        session,
        tenant_id=adjustment.tenant_id,
        idempotency_key=f"adjustment:{adjustment.id}",
        kind="adjustment",
        postings=[Posting(WALLET, currency, amount), Posting(ADJUSTMENTS, currency, -amount)],
        description=f"{adjustment.reason_code}: {adjustment.note}"[:500],
        reference=adjustment.id,
    )
    adjustment.status = AdjustmentStatus.APPLIED
    adjustment.checker_id = checker
    adjustment.decided_at = utcnow()
    adjustment.ledger_transaction_id = posted.id
    record(
        session,
        actor=actor,
        action="adjustment.applied",
        subject_type="adjustment",
        subject_id=adjustment.id,
        tenant_id=adjustment.tenant_id,
        detail={
            "before": before,
            "after": _state(adjustment),
            "ledger_transaction_id": posted.id,
            "amount_minor": amount,
            "currency": adjustment.currency,
        },
    )


def _state(adjustment: BalanceAdjustment) -> dict:
    return {"status": adjustment.status.value, "checker_id": adjustment.checker_id}
