"""Crediting a top-up the statement shows paid but Malipo never credited, after a person
reviewed it: through the same rule as any proven payment (`apply_outcome`, ledger key
`topup:<id>`, so never twice), then its settlement booked from the statement's line."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.errors import Conflict, NotFound
from billing.ledger.service import post_transaction
from billing.settlement.books import settlement_postings
from billing.settlement.exceptions import lines_of_item
from billing.settlement.models import Outcome
from billing.topups.models import ReviewItem, ReviewStatus, Topup
from billing.topups.outcomes import Outcome as ProviderOutcome
from billing.topups.outcomes import apply_outcome
from billing.topups.reviews import resolve_item
from providers.base import ProviderStatus

CREDITABLE = f"statement_{Outcome.MISSING_IN_MALIPO.value}"


def credit_after_review(session: Session, item_id: str, *, actor: str, note: str) -> ReviewItem:
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None:
        raise NotFound(f"review item {item_id} not found")
    if item.kind != CREDITABLE:
        raise Conflict(
            f"only a {CREDITABLE} item is credited from its statement; this is {item.kind}"
        )
    if item.status is not ReviewStatus.OPEN:
        raise Conflict(f"review item {item_id} is already resolved: {item.resolution}")
    line = next((line for line in lines_of_item(session, item_id) if line.topup_id), None)
    topup = session.get(Topup, line.topup_id, with_for_update=True) if line else None
    if line is None or topup is None:
        raise Conflict(f"review item {item_id} names no top-up to credit")
    said = ProviderOutcome(
        source="statement",
        status=ProviderStatus.SUCCEEDED,
        amount_minor=line.amount_minor,
        currency=line.currency,
        provider_txn_id=line.provider_txn_id,
    )
    done = apply_outcome(session, topup, said)
    if done != "credited":
        raise Conflict(
            f"top-up {topup.id} was not credited ({done.replace('_', ' ')}): "
            "settle it by an adjustment instead",
            {"item_id": [done]},
        )
    posted = post_transaction(
        session,
        tenant_id=topup.tenant_id,
        idempotency_key=f"settlement-line:{line.id}",
        kind="settlement",
        postings=settlement_postings(
            line.provider, line.currency, line.amount_minor, line.fee_minor
        ),
        description=f"{line.provider} settlement of top-up {topup.id}, credited after review",
        reference=line.statement_id,
    )
    line.ledger_transaction_id = posted.id
    resolution = f"credited after review: {note}"[:500]
    resolve_item(session, item_id, resolution)
    record(
        session,
        actor=actor,
        action="settlement.credited_after_review",
        subject_type="topup",
        subject_id=topup.id,
        tenant_id=topup.tenant_id,
        detail={"review_item_id": item_id, "statement_id": line.statement_id,
                "line_no": line.line_no, "amount": line.amount_minor, "currency": line.currency,
                "ledger_transaction_id": topup.ledger_transaction_id, "note": note},
    )  # fmt: skip
    return item
