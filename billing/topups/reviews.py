"""Review items: money facts a person must look at. Never a silent drop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
from billing.core.clock import utcnow
from billing.core.db import insert_for
from billing.core.errors import NotFound
from billing.core.ids import new_id
from billing.topups.models import ReviewItem, ReviewStatus

KINDS = (
    "amount_mismatch",  # the callback's amount, currency or payer differs from the top-up
    "unknown_reference",  # a callback for no top-up of ours
    "identity_mismatch",  # a callback naming another provider or transaction than stored
    "late_success",  # paid after we expired or failed it: credited, and flagged
    "conflicting_status",  # a failure reported for a top-up already credited
    "unknown_status",  # a status code not in the provider's tables
    "unconfirmed",  # an unproven callback the provider's own answer did not bear out
    "refund_unknown",  # a refund the provider did not answer
    "refund_stuck",  # a refund left in flight that no status query could settle
    "callback_stuck",  # a stored callback that kept failing to apply: parked
    "vfd_rejected",  # TRA keeps answering a fiscal receipt with a non-zero ACK
    "usage_unrateable",  # a tenant's usage its plan cannot price (billing.usage.parking)
    # A settlement statement's exceptions (billing.settlement, opened set-based there):
    "statement_amount_mismatch",  # the provider settled another amount than we credited
    "statement_currency_mismatch",
    "statement_missing_in_malipo",  # paid at the provider, never credited: credit after review
    "statement_unknown_payment",  # paid at the provider, no top-up of ours names it
    "statement_missing_at_provider",  # credited here, on no statement of its day
    "statement_duplicate",  # a payment the provider settled already
    # A Stripe payout's exceptions (billing.settlement.payouts):
    "payout_amount_mismatch",  # Stripe paid out another gross or fee than the ledger booked
    "payout_missing_in_malipo",  # Stripe moved money the ledger never booked
    "payout_not_in_payout",  # a charge booked in the payout's window that it does not list
)


def open_item(
    session: Session,
    *,
    kind: str,
    summary: str,
    detail: dict[str, Any],
    tenant_id: str | None = None,
    topup_id: str | None = None,
    inbox_id: int | None = None,
) -> None:
    """Open an item once per (kind, top-up, callback); a re-run adds nothing."""
    if kind not in KINDS:
        raise ValueError(f"unknown review item kind {kind!r}")
    table = ReviewItem.__table__
    session.execute(
        insert_for(session, table)
        .values(
            id=new_id("rev"),
            kind=kind,
            summary=summary[:300],
            detail=detail,
            tenant_id=tenant_id,
            topup_id=topup_id,
            inbox_id=inbox_id,
            status=ReviewStatus.OPEN,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


def list_items(
    session: Session, *, status: ReviewStatus | None, kind: str | None, limit: int
) -> list[ReviewItem]:
    query = select(ReviewItem).order_by(ReviewItem.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if kind is not None:
        query = query.where(ReviewItem.kind == kind)
    return list(session.execute(query).scalars())


def resolve_item(
    session: Session, item_id: str, resolution: str, *, actor: str = SYSTEM
) -> ReviewItem:
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None:
        raise NotFound(f"review item {item_id} not found")
    if item.status is ReviewStatus.OPEN:
        item.status = ReviewStatus.RESOLVED
        item.resolved_at = utcnow()
        item.resolution = resolution
        record(session, actor=actor, action="review_item.resolved", subject_type="review_item",
               subject_id=item.id, tenant_id=item.tenant_id,
               detail={"kind": item.kind, "resolution": resolution,
                       "before": {"status": "open"}, "after": {"status": "resolved"}})  # fmt: skip
    return item
