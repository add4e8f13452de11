"""Top-up jobs: ask the provider, reconcile a callback, and sweep what went quiet.

Every job takes ids, holds no row lock while it talks to a provider, and is safe to
run twice: the initiation is claimed before it is sent, and the credit carries the
ledger key `topup:<id>`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import select, update

from billing.core.clock import utcnow
from billing.events.service import emit
from billing.jobs.registry import job
from billing.runtime import current
from billing.topups import states, sweeps
from billing.topups.models import CallbackDelivery, InboxStatus, Initiation, Topup, TopupStatus
from billing.topups.outcomes import Outcome, apply_outcome, event_data
from billing.topups.reviews import open_item
from billing.topups.trust import Claim, Verdict, described, disagreement, judge
from providers.base import (
    TERMINAL,
    CollectionRequest,
    StatusQuery,
    unknown_outcome,
)

# After the push: query at +30 s, then 1, 2, 5 and 15 minutes later; then expire.
CHECK_AFTER_S = (30, 60, 120, 300, 900)
# An unsigned callback the provider cannot confirm this long is handed to a person.
CONFIRM_WITHIN = timedelta(minutes=15)
log = logging.getLogger(__name__)
# Inbox families reconciled by a capability of their own (Stripe's webhooks carry refunds
# and disputes as well as payments): family -> function(inbox_id), filled at import by
# that capability's jobs module (billing.cards.webhooks).
FAMILY_RECONCILERS: dict[str, Callable[[int], None]] = {}
# And their batch form: function(inbox_ids) -> the ids it left for one at a time.
FAMILY_BATCHES: dict[str, Callable[[list[int]], list[int]]] = {}
_topups = Topup.__table__
_inbox = CallbackDelivery.__table__


@job("topups.initiate")
def initiate(topup_id: str) -> None:
    """Claim the push (not_sent → sending), send it, record the answer. A push left
    `sending` by a dead worker is found by `sweeps.stuck_initiations`."""
    runtime = current()
    with runtime.unit_of_work() as session:
        topup = session.execute(
            update(_topups)
            .where(
                _topups.c.id == topup_id,
                _topups.c.status == TopupStatus.PENDING,
                _topups.c.initiation.in_(states.from_states(states.INITIATION, Initiation.SENDING)),
            )
            .values(initiation=Initiation.SENDING, updated_at=utcnow())
            .returning(_topups)
        ).first()
    if topup is None:
        return  # sent already, or no longer pending
    try:
        result = runtime.gateways.adapter(topup.provider).initiate_collection(
            CollectionRequest(
                topup_id=topup.id,
                reference=topup.reference,
                msisdn=topup.msisdn,
                amount_minor=topup.amount_minor,
                currency=topup.currency,
                description=f"Malipo wallet top-up {topup.reference}",
                callback_url=runtime.gateways.callback_url(topup.provider),
            )
        )
    except Exception as error:  # a bug in an adapter: the push may or may not have left
        log.exception("initiate %s: the %s adapter raised", topup_id, topup.provider)
        reason = f"{type(error).__name__}: {error}"
        result = unknown_outcome(topup.provider, "adapter_error", reason)
    with runtime.unit_of_work() as session:
        locked = session.get(Topup, topup_id, with_for_update=True)
        if locked.initiation is not Initiation.SENDING:  # the sweep gave up on it meanwhile
            if not result.retryable:
                apply_outcome(session, locked, Outcome.of("initiate", result))
            return
        if result.retryable:  # nothing reached the provider: no money can have moved
            sweeps.resend_later(session, locked, result)
            return
        states.move(
            locked, "initiation", Initiation.UNKNOWN if result.ambiguous else Initiation.SENT
        )
        locked.next_check_at = utcnow() + timedelta(seconds=CHECK_AFTER_S[0])
        apply_outcome(session, locked, Outcome.of("initiate", result))


@job("topups.reconcile", batch=100)
def reconcile(inbox_id: int) -> None:
    """Apply a stored callback. A proven one is applied in the claiming transaction; an
    unproven one is confirmed with the provider first, by the top-up's own stored ids,
    holding no lock meanwhile (`billing.topups.trust`)."""
    runtime = current()
    with runtime.unit_of_work() as session:
        claimed = session.execute(
            update(_inbox)
            .where(
                _inbox.c.id == inbox_id,
                _inbox.c.status.in_((InboxStatus.RECEIVED, InboxStatus.APPLYING)),
            )
            .values(status=InboxStatus.APPLYING)
            .returning(_inbox.c.provider, _inbox.c.event, _inbox.c.received_at)
        ).first()
        if claimed is None:
            return  # applied already
        reconciler = FAMILY_RECONCILERS.get(claimed.provider)
        if reconciler is None:
            claim = Claim.of(claimed.provider, claimed.event)
            ask = apply_callback(session, inbox_id, claim)
    if reconciler is not None:
        reconciler(inbox_id)
        return
    if ask is None:
        return
    provider, query = ask
    answer = runtime.gateways.adapter(provider).query_status(query)
    with runtime.unit_of_work() as session:
        apply_callback(
            session,
            inbox_id,
            claim,
            answer=Outcome.of("status_query", answer),
            received_at=claimed.received_at,
        )


class NotConfirmedYet(RuntimeError):
    """The provider does not know the payment's end yet: the job is tried again."""


def apply_callback(
    session,
    inbox_id: int,
    claim: Claim,
    *,
    answer: Outcome | None = None,
    received_at: datetime | None = None,
) -> tuple[str, StatusQuery] | None:
    """Do what `trust.judge` allows with a claimed callback, holding its top-up's lock.

    Returns the status query to make when the claim must be confirmed and no `answer`
    is given yet; with the answer, the answer is what is applied.
    """
    inbox = session.get(CallbackDelivery, inbox_id, with_for_update=True)
    topup = session.execute(
        select(Topup).where(Topup.reference == claim.our_reference).with_for_update()
    ).scalar()
    judgement = judge(topup, claim, can_query=can_query(topup))
    if topup is not None:
        inbox.topup_id = topup.id
    if judgement.verdict is Verdict.CONFIRM:
        if answer is None:
            return topup.provider, own_query(topup)
        done = _settle_by_answer(session, topup, claim, answer, inbox_id, received_at)
    elif judgement.verdict is Verdict.APPLY:
        done = apply_outcome(session, topup, claim.as_outcome(), inbox_id)
    elif judgement.verdict is Verdict.REVIEW:
        _review_claim(session, topup, claim, inbox_id, judgement.kind, judgement.detail)
        done = "review"
    else:
        done = "settled"
    inbox.applied_at = utcnow()
    needs_person = done in ("review", "mismatch", "conflict", "unknown_status")
    inbox.status = InboxStatus.NEEDS_REVIEW if needs_person else InboxStatus.APPLIED
    return None


def can_query(topup: Topup | None) -> bool:
    if topup is None:
        return False
    return current().gateways.adapter(topup.provider).capabilities.supports_status_query


def own_query(topup: Topup) -> StatusQuery:
    """A status query by what we stored: never by an id a callback put forward."""
    return StatusQuery(
        our_reference=topup.reference,
        provider_ref=topup.provider_ref,
        provider_txn_id=topup.provider_txn_id,
    )


def _settle_by_answer(
    session, topup: Topup, claim: Claim, answer: Outcome, inbox_id: int, received_at
) -> str:
    """The provider's answer moves the top-up; the callback is flagged if it said otherwise."""
    if answer.status not in TERMINAL and not answer.unknown_status:
        if utcnow() - received_at < CONFIRM_WITHIN:
            raise NotConfirmedYet("the provider has not confirmed the payment yet; retrying")
        why = {"why": f"the provider did not confirm it within {CONFIRM_WITHIN}"}
        _review_claim(session, topup, claim, inbox_id, "unconfirmed", why)
        return "review"
    done = apply_outcome(session, topup, described(claim, answer), inbox_id)
    differs = disagreement(claim, answer)
    if differs:
        detail = {"callback_said_vs_provider_says": differs}
        _review_claim(session, topup, claim, inbox_id, "unconfirmed", detail)
        return "review"
    return done


def _review_claim(
    session, topup: Topup | None, claim: Claim, inbox_id: int, kind: str, detail: dict
) -> None:
    subject = f"top-up {topup.id}" if topup else f"unknown reference {claim.our_reference!r}"
    open_item(
        session,
        kind=kind,
        tenant_id=topup.tenant_id if topup else None,
        topup_id=topup.id if topup else None,
        inbox_id=inbox_id,
        summary=f"{kind.replace('_', ' ')}: callback for {subject} ({claim.family})",
        detail={**detail, "claim": {**asdict(claim), "status": claim.status.value}},
    )


def check_topup(topup_id: str) -> None:
    """A top-up whose callback has not come: ask the provider, or count it down to expiry."""
    runtime = current()
    with runtime.sessions() as session:
        topup = session.get(Topup, topup_id)
        if topup is None or topup.status is not TopupStatus.PENDING:
            return
        provider, query = topup.provider, own_query(topup)
    adapter = runtime.gateways.adapter(provider)
    answer = adapter.query_status(query) if adapter.capabilities.supports_status_query else None
    with runtime.unit_of_work() as session:
        locked = session.get(Topup, topup_id, with_for_update=True)
        if locked.status is not TopupStatus.PENDING or locked.next_check_at is None:
            return
        if answer is not None and answer.is_terminal:
            apply_outcome(session, locked, Outcome.of("status_query", answer))
            return
        locked.checks += 1
        if locked.checks < len(CHECK_AFTER_S):
            locked.next_check_at = utcnow() + timedelta(seconds=CHECK_AFTER_S[locked.checks])
            return
        locked.status = TopupStatus.EXPIRED
        locked.next_check_at = None
        locked.failure_reason = "no answer from the provider"
        emit(session, tenant_id=locked.tenant_id, type="topup.failed", data=event_data(locked))


def sweep() -> None:
    """Re-drive what went quiet: due status checks, stuck callbacks (oldest first, each
    backing off, parked when poisoned), unsent pushes, and anything left mid-flight."""
    runtime = current()
    now = utcnow()
    stale = now - timedelta(seconds=runtime.settings.redrive_after_s)
    try:
        sweeps.stuck_initiations(now, stale)
    except Exception:
        log.exception("sweep: pushes left sending could not be marked; next time")
    with runtime.sessions() as session:
        due = (
            session.execute(
                select(Topup.id)
                .where(
                    Topup.status == TopupStatus.PENDING,
                    Topup.initiation != Initiation.NOT_SENT,
                    Topup.next_check_at <= now,
                )
                .order_by(Topup.next_check_at)
                .limit(50)
            )
            .scalars()
            .all()
        )
        stuck = sweeps.stuck_callbacks(session, now, stale)
        unsent = sweeps.unsent_topups(session, now, stale)
        in_flight = sweeps.stuck_refunds(session, now, stale)

    def redrive(inbox_id: int) -> None:
        sweeps.redrive_callback(inbox_id, reconcile)

    for step, ids in (
        (redrive, stuck),
        (check_topup, due),
        (initiate, unsent),
        (sweeps.check_refund, in_flight),
    ):
        for item in ids:
            try:
                step(item)
            except Exception:
                log.exception("sweep: %s(%s) failed; it comes round again", step.__name__, item)
