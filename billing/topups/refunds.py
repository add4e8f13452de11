"""Refunding a top-up through its provider, one `refunds` row per refund.

The wallet is debited first, in the request's transaction, so money the tenant has
already spent cannot be refunded; the provider is asked after commit by a job. A
refund the provider refuses is undone with a reversal; one it leaves unanswered is
handed to a person, never guessed. Several partial refunds of one top-up are allowed
where the provider allows them, never more than was collected in total.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
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
from billing.topups import states
from billing.topups.gateways import MOBILE_MONEY, Gateways
from billing.topups.models import Refund, RefundStatus, Topup, TopupStatus
from billing.topups.outcomes import event_data
from billing.topups.reviews import open_item
from billing.topups.service import get_topup, reference_for
from providers.base import ProviderResult, ProviderStatus, RefundRequest, unknown_outcome

log = logging.getLogger(__name__)
_refunds = Refund.__table__
# Refunds that hold (or may hold) part of the top-up: a failed one gave its money back.
OUTSTANDING = (
    RefundStatus.REQUESTED,
    RefundStatus.SENDING,
    RefundStatus.SUCCEEDED,
    RefundStatus.UNKNOWN,
)
DONE = (ProviderStatus.SUCCEEDED, ProviderStatus.REVERSED)


def request_refund(
    session: Session,
    gateways: Gateways,
    topup_id: str,
    amount: int | None,
    reason: str,
    *,
    actor: str = SYSTEM,
) -> Topup:
    """Debit the wallet and queue the provider call; the top-up comes back with it (and the
    audit trail names who asked)."""
    topup = session.get(Topup, topup_id, with_for_update=True)
    if topup is None:
        raise NotFound(f"top-up {topup_id} not found")
    if topup.status is not TopupStatus.SUCCEEDED:
        raise Conflict(
            f"top-up {topup_id} is {topup.status.value}: only a credited one is refunded"
        )
    if not topup.provider_txn_id:
        raise Conflict(
            f"top-up {topup_id} has no verified receipt from {topup.provider}: "
            "refund it by hand once the provider confirms the payment"
        )
    taken = refunded_so_far(session, topup.id)
    remaining = topup.amount_minor - taken
    if remaining <= 0:
        raise Conflict(f"top-up {topup_id} is refunded in full already")
    amount = remaining if amount is None else amount
    _check(gateways, topup, amount, remaining, taken)
    refund_id = new_id("rfd")
    reference = reference_for(refund_id)
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
    session.add(
        Refund(
            id=refund_id,
            topup_id=topup.id,
            tenant_id=topup.tenant_id,
            reference=reference,
            amount_minor=amount,
            currency=topup.currency,
            reason=reason,
            status=RefundStatus.REQUESTED,
            debit_transaction_id=debit.id,
        )
    )
    session.flush()
    record(session, actor=actor, action="topup.refund_requested", subject_type="topup",
           subject_id=topup.id, tenant_id=topup.tenant_id,
           detail={"refund_id": refund_id, "amount_minor": amount, "currency": topup.currency,
                   "reason": reason, "ledger_transaction_id": debit.id,
                   "before": {"refunded_minor": taken},
                   "after": {"refunded_minor": taken + amount}})  # fmt: skip
    session.expire(topup, ["refunds"])
    defer(session, "topups.refund", refund_id, dedupe_key=f"topups.refund:{reference}")
    return topup


def refunded_so_far(session: Session, topup_id: str) -> int:
    """What the top-up's refunds hold or gave back; a failed refund returned its money."""
    return _total(session, topup_id, OUTSTANDING)


def _total(session: Session, topup_id: str, statuses: tuple[RefundStatus, ...]) -> int:
    total = session.execute(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.topup_id == topup_id, Refund.status.in_(statuses)
        )
    ).scalar_one()
    return int(total)  # SUM(bigint) is numeric in PostgreSQL


def list_refunds(session: Session, topup_id: str, tenant_id: str | None) -> list[Refund]:
    get_topup(session, topup_id, tenant_id)
    query = select(Refund).where(Refund.topup_id == topup_id).order_by(Refund.created_at)
    return list(session.execute(query).scalars())


def _check(gateways: Gateways, topup: Topup, amount: int, remaining: int, taken: int) -> None:
    caps = gateways.adapter(topup.provider).capabilities
    if not caps.supports_refund:
        raise InvalidInput.on("amount", f"{topup.provider} has no refund API: refund by hand")
    if not 0 < amount <= remaining:
        raise InvalidInput.on(
            "amount", f"at most {remaining}: what was paid less what was refunded"
        )
    if amount % 100 and topup.provider in MOBILE_MONEY:
        raise InvalidInput.on("amount", f"whole shillings, at most {remaining}")
    if (amount < topup.amount_minor or taken) and not caps.supports_partial_refund:
        raise InvalidInput.on("amount", f"{topup.provider} refunds only the whole payment")


@job("topups.refund")
def send_refund(refund_id: str) -> None:
    """Claim the refund (requested → sending), ask the provider, record the answer."""
    runtime = current()
    with runtime.unit_of_work() as session:
        claimed = session.execute(
            update(_refunds)
            .where(
                _refunds.c.id == refund_id,
                _refunds.c.status.in_(states.from_states(states.REFUND, RefundStatus.SENDING)),
            )
            .values(status=RefundStatus.SENDING, attempts=_refunds.c.attempts + 1)
            .values(updated_at=utcnow())
            .returning(_refunds.c.topup_id)
        ).first()
        if claimed is None:
            return  # sent already
        topup = session.get(Topup, claimed.topup_id)
        refund = session.get(Refund, refund_id)
        provider = topup.provider
        request = RefundRequest(
            refund_reference=refund.reference,
            provider_txn_id=topup.provider_txn_id or "",
            original_reference=topup.reference,
            amount_minor=refund.amount_minor,
            original_amount_minor=topup.amount_minor,
            currency=refund.currency,
            msisdn=topup.msisdn,
            reason=refund.reason,
        )
    try:
        result = runtime.gateways.adapter(provider).refund(request)
    except Exception as error:  # a bug in an adapter: the money may or may not have moved
        log.exception("refund %s: the %s adapter raised", refund_id, provider)
        result = unknown_outcome(provider, "adapter_error", f"{type(error).__name__}: {error}")
    with runtime.unit_of_work() as session:
        settle(session, refund_id, result)


def settle(session: Session, refund_id: str, result: ProviderResult) -> str:
    """Record the provider's answer on a refund still in flight; return its new state."""
    refund = session.get(Refund, refund_id, with_for_update=True)
    if refund.status not in (RefundStatus.SENDING, RefundStatus.UNKNOWN):
        return refund.status.value  # settled meanwhile (the sweep's status query)
    topup = session.get(Topup, refund.topup_id, with_for_update=True)
    refund.provider_ref = refund.provider_ref or result.provider_ref
    refund.provider_txn_id = refund.provider_txn_id or result.provider_txn_id
    refund.next_check_at = None
    if result.status in DONE and not result.ambiguous:
        _succeeded(session, refund, topup)
    elif result.ambiguous or result.status is ProviderStatus.PENDING:
        if refund.status is RefundStatus.UNKNOWN:
            return refund.status.value  # a person has it already
        states.move(refund, "status", RefundStatus.UNKNOWN)
        open_item(
            session,
            kind="refund_unknown",
            tenant_id=refund.tenant_id,
            topup_id=refund.topup_id,
            summary=f"no answer to refund {refund.id} of top-up {refund.topup_id}",
            detail={
                "refund_id": refund.id,
                "reason_code": result.reason_code,
                "reason": result.reason,
            },
        )
    else:
        _refused(session, refund, topup, result)
    return refund.status.value


def _succeeded(session: Session, refund: Refund, topup: Topup) -> None:
    states.move(refund, "status", RefundStatus.SUCCEEDED)
    session.flush()
    given_back = _total(session, topup.id, (RefundStatus.SUCCEEDED,))
    if given_back >= topup.amount_minor and topup.status is TopupStatus.SUCCEEDED:
        states.move(topup, "status", TopupStatus.REFUNDED)
    data = {**event_data(topup), "refund_id": refund.id, "refund_amount": refund.amount_minor}
    emit(session, tenant_id=topup.tenant_id, type="topup.refunded", data=data)
    # Its fiscal receipt's adjustment (a credit note moving the VAT back): invoicing's job.
    defer(session, "invoicing.refund_adjustment", refund.id,
          dedupe_key=f"invoicing.refund_adjustment:{refund.id}")  # fmt: skip


def _refused(session: Session, refund: Refund, topup: Topup, result: ProviderResult) -> None:
    reason = f"{topup.provider} refused the refund: {result.reason or result.reason_code}"
    reversal = reverse_transaction(
        session,
        tenant_id=refund.tenant_id,
        transaction_id=refund.debit_transaction_id,
        idempotency_key=f"refund-refused:{refund.reference}",
        reason=reason,
    )
    refund.reversal_transaction_id = reversal.id
    refund.failure_reason = reason[:300]
    states.move(refund, "status", RefundStatus.FAILED)
