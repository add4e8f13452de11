"""Auto-recharge: a wallet below its threshold is topped up from the saved card, once.

A crossing is claimed under the saved card's row lock: the claim creates the top-up and
marks it pending on the saved card, so 20 debits crossing together make one charge, and
none starts while one is pending. The charge is an off-session PaymentIntent confirmed
at once (`topups.initiate`'s rules: claimed before it is sent, idempotency key per
top-up). A decline or a demand for authentication fails the top-up, tells the tenant
(`card.auto_recharge_failed`) and stops auto-recharge until the tenant acts: it is never
retried in a loop.

Crossings are found by `sweep` on the worker's clock; `after_wallet_debit` is the same
claim for a debit path to call in its own transaction (the lead may wire usage debits).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from billing.cards.models import SavedCard
from billing.core.clock import utcnow
from billing.core.ids import new_id
from billing.events.service import emit
from billing.jobs.outbox import defer
from billing.jobs.registry import job
from billing.ledger.models import Account
from billing.ledger.postings import WALLET
from billing.runtime import current
from billing.topups import states
from billing.topups.gateways import CARD
from billing.topups.models import Initiation, Topup, TopupStatus
from billing.topups.outcomes import Outcome, apply_outcome
from billing.topups.service import reference_for
from billing.topups.states import from_states
from providers.base import CollectionRequest

log = logging.getLogger(__name__)
JOB = "cards.auto_recharge"
_topups = Topup.__table__


def after_wallet_debit(session: Session, tenant_id: str) -> str | None:
    """Claim a recharge if this tenant's wallet is now below its threshold (in the
    caller's transaction); the new top-up's id, or None."""
    saved = session.execute(
        select(SavedCard).where(SavedCard.tenant_id == tenant_id).with_for_update()
    ).scalar()
    if saved is None or not _may_recharge(saved):
        return None
    balance = session.execute(
        select(Account.balance_minor).where(
            Account.tenant_id == tenant_id,
            Account.kind == WALLET,
            Account.currency == saved.currency,
        )
    ).scalar()
    if int(balance or 0) >= saved.threshold_minor:
        return None
    topup_id = new_id("top")
    session.add(
        Topup(
            id=topup_id,
            tenant_id=tenant_id,
            reference=reference_for(topup_id),
            provider=CARD,
            msisdn="",
            amount_minor=saved.recharge_minor,
            currency=saved.currency,
        )
    )
    session.flush()
    saved.pending_topup_id = topup_id
    defer(session, JOB, topup_id, dedupe_key=f"{JOB}:{topup_id}")
    return topup_id


def _may_recharge(saved: SavedCard) -> bool:
    return bool(
        saved.enabled
        and saved.payment_method_id
        and saved.threshold_minor is not None
        and saved.recharge_minor
        and saved.pending_topup_id is None
        and saved.last_failure is None
    )


@job(JOB)
def charge(topup_id: str) -> None:
    """Claim the charge (not_sent → sending), send it off-session, apply the answer."""
    runtime = current()
    with runtime.unit_of_work() as session:
        topup = session.execute(
            update(_topups)
            .where(
                _topups.c.id == topup_id,
                _topups.c.status == TopupStatus.PENDING,
                _topups.c.initiation.in_(from_states(states.INITIATION, Initiation.SENDING)),
            )
            .values(initiation=Initiation.SENDING, updated_at=utcnow())
            .returning(_topups)
        ).first()
        if topup is None:
            return
        saved = session.get(SavedCard, topup.tenant_id)
        customer, method = saved.customer_id, saved.payment_method_id
    adapter = runtime.gateways.adapter(CARD)
    result = adapter.charge_saved_card(
        CollectionRequest(
            topup_id=topup.id,
            reference=topup.reference,
            msisdn="",
            amount_minor=topup.amount_minor,
            currency=topup.currency,
            description=f"Malipo auto-recharge {topup.reference}",
            callback_url=runtime.gateways.callback_url(CARD),
            metadata={"tenant_id": topup.tenant_id, "auto_recharge": "true"},
        ),
        customer,
        method,
    )
    with runtime.unit_of_work() as session:
        locked = session.get(Topup, topup_id, with_for_update=True)
        locked.provider_ref = locked.provider_ref or result.provider_ref
        states.move(
            locked, "initiation", Initiation.UNKNOWN if result.ambiguous else Initiation.SENT
        )
        if result.ambiguous:
            locked.next_check_at = utcnow()  # the top-up sweep asks Stripe
            return
        apply_outcome(session, locked, Outcome.of("initiate", result))
        finish(session, locked)


def finish(session: Session, topup: Topup) -> None:
    """A recharge that ended frees its saved card; a failed one stops auto-recharge and
    tells the tenant."""
    if topup.status is TopupStatus.PENDING:
        return
    saved = session.execute(
        select(SavedCard).where(SavedCard.pending_topup_id == topup.id).with_for_update()
    ).scalar()
    if saved is None:
        return
    saved.pending_topup_id = None
    if topup.status is not TopupStatus.SUCCEEDED:
        saved.last_failure = (
            f"{topup.failure_code or topup.status.value}: {topup.failure_reason or ''}"
        )[:300]
        emit(
            session,
            tenant_id=topup.tenant_id,
            type="card.auto_recharge_failed",
            data={
                "topup_id": topup.id,
                "amount": topup.amount_minor,
                "currency": topup.currency,
                "failure_code": topup.failure_code,
                "failure_reason": topup.failure_reason,
                "card": f"{saved.brand or 'card'} •••• {saved.last4 or '????'}",
                "action": "update the saved card or re-enable auto-recharge",
            },
        )


def sweep() -> None:
    """On the worker's clock: finish recharges that ended elsewhere (a webhook, the top-up
    sweep), then claim the wallets that crossed their threshold."""
    runtime = current()
    stale = utcnow() - timedelta(seconds=runtime.settings.redrive_after_s)
    with runtime.sessions() as session:
        unsent = (
            session.execute(
                select(Topup.id)
                .join(SavedCard, SavedCard.pending_topup_id == Topup.id)
                .where(
                    Topup.status == TopupStatus.PENDING,
                    Topup.initiation == Initiation.NOT_SENT,
                    Topup.created_at < stale,
                )
            )
            .scalars()
            .all()
        )
        ended = (
            session.execute(
                select(Topup.id)
                .join(SavedCard, SavedCard.pending_topup_id == Topup.id)
                .where(Topup.status != TopupStatus.PENDING)
            )
            .scalars()
            .all()
        )
        below = (
            session.execute(
                select(SavedCard.tenant_id)
                .join(
                    Account,
                    and_(
                        Account.tenant_id == SavedCard.tenant_id,
                        Account.kind == WALLET,
                        Account.currency == SavedCard.currency,
                    ),
                )
                .where(
                    SavedCard.enabled,
                    SavedCard.pending_topup_id.is_(None),
                    SavedCard.last_failure.is_(None),
                    SavedCard.payment_method_id.is_not(None),
                    Account.balance_minor < SavedCard.threshold_minor,
                )
                .limit(200)
            )
            .scalars()
            .all()
        )
    for topup_id in unsent:  # claimed, but its job was lost: sent now (same idempotency key)
        try:
            charge(topup_id)
        except Exception:
            log.exception("auto-recharge %s could not be sent; next time", topup_id)
    for topup_id in ended:
        with runtime.unit_of_work() as session:
            finish(session, session.get(Topup, topup_id, with_for_update=True))
    for tenant_id in below:
        try:
            with runtime.unit_of_work() as session:
                after_wallet_debit(session, tenant_id)
        except Exception:
            log.exception("auto-recharge of %s could not be claimed; next time", tenant_id)
