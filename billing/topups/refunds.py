"""Refunding a top-up through its provider.

The wallet is debited first, in the request's transaction, so money the tenant has
already spent cannot be refunded; the provider is asked after commit by a job. A
refund the provider refuses is undone with a reversal; one it leaves unanswered is
handed to a person, never guessed.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.events.service import emit
from billing.jobs.outbox import defer
from billing.jobs.registry import job
from billing.ledger.postings import WALLET, Posting, clearing
from billing.ledger.service import post_transaction, reverse_transaction
from billing.runtime import current
from billing.topups.gateways import Gateways
from billing.topups.models import RefundStatus, Topup, TopupStatus
from billing.topups.outcomes import event_data
from billing.topups.reviews import open_item
from billing.topups.service import reference_for
from providers.base import ProviderStatus, RefundRequest

_topups = Topup.__table__
RETRYABLE = (None, RefundStatus.FAILED)


def request_refund(
    session: Session, gateways: Gateways, topup_id: str, amount: int | None, reason: str
) -> Topup:
    topup = session.get(Topup, topup_id, with_for_update=True)
    if topup is None:
        raise NotFound(f"top-up {topup_id} not found")
    if topup.status is not TopupStatus.SUCCEEDED or topup.refund_status not in RETRYABLE:
        raise Conflict(
            f"top-up {topup_id} is {topup.status.value}: only a credited one is refunded"
        )
    amount = topup.amount_minor if amount is None else amount
    _check(gateways, topup, amount)
    reference = reference_for(new_id("rfd"))
    debit = post_transaction(
        session,
        tenant_id=topup.tenant_id,
        idempotency_key=f"refund:{reference}",
        kind="refund",
        postings=[
            Posting(WALLET, Currency(topup.currency), -amount),
            Posting(clearing(topup.provider), Currency(topup.currency), amount),
        ],
        description=f"refund of {topup.provider} top-up {topup.provider_txn_id}: {reason}"[:500],
        reference=topup.id,
    )
    topup.refund_status = RefundStatus.REQUESTED
    topup.refund_reference = reference
    topup.refund_amount_minor = amount
    topup.refund_reason = reason
    topup.refund_transaction_id = debit.id
    defer(session, "topups.refund", topup.id, dedupe_key=f"topups.refund:{reference}")
    return topup


def _check(gateways: Gateways, topup: Topup, amount: int) -> None:
    caps = gateways.adapter(topup.provider).capabilities
    if not caps.supports_refund:
        raise InvalidInput.on("amount", f"{topup.provider} has no refund API: refund by hand")
    if not 0 < amount <= topup.amount_minor or amount % 100:
        raise InvalidInput.on("amount", f"whole shillings, at most {topup.amount_minor}")
    if amount < topup.amount_minor and not caps.supports_partial_refund:
        raise InvalidInput.on("amount", f"{topup.provider} refunds only the whole payment")


@job("topups.refund")
def send_refund(topup_id: str) -> None:
    runtime = current()
    with runtime.unit_of_work() as session:
        topup = session.execute(
            update(_topups)
            .where(_topups.c.id == topup_id, _topups.c.refund_status == RefundStatus.REQUESTED)
            .values(refund_status=RefundStatus.SENDING, updated_at=utcnow())
            .returning(_topups)
        ).first()
    if topup is None:
        return  # sent already
    result = runtime.gateways.adapter(topup.provider).refund(
        RefundRequest(
            refund_reference=topup.refund_reference,
            provider_txn_id=topup.provider_txn_id or "",
            original_reference=topup.reference,
            amount_minor=topup.refund_amount_minor,
            original_amount_minor=topup.amount_minor,
            currency=topup.currency,
            msisdn=topup.msisdn,
            reason=topup.refund_reason or "",
        )
    )
    with runtime.unit_of_work() as session:
        _record(session, session.get(Topup, topup_id, with_for_update=True), result)


def _record(session: Session, topup: Topup, result) -> None:
    if result.status in (ProviderStatus.SUCCEEDED, ProviderStatus.REVERSED):
        topup.refund_status = RefundStatus.SUCCEEDED
        if topup.refund_amount_minor == topup.amount_minor:
            topup.status = TopupStatus.REFUNDED
        emit(session, tenant_id=topup.tenant_id, type="topup.refunded", data=event_data(topup))
    elif result.ambiguous or result.status is ProviderStatus.PENDING:
        topup.refund_status = RefundStatus.UNKNOWN
        open_item(
            session,
            kind="refund_unknown",
            tenant_id=topup.tenant_id,
            topup_id=topup.id,
            summary=f"no answer to the refund of top-up {topup.id}",
            detail={"reason_code": result.reason_code, "reason": result.reason},
        )
    else:
        reverse_transaction(
            session,
            tenant_id=topup.tenant_id,
            transaction_id=topup.refund_transaction_id,
            idempotency_key=f"refund-refused:{topup.refund_reference}",
            reason=f"{topup.provider} refused the refund: {result.reason or result.reason_code}",
        )
        topup.refund_status = RefundStatus.FAILED
