"""Nothing stays mid-flight: sweeps for pushes, refunds and callbacks that went quiet.

A worker can die (or an adapter raise) between claiming a row and recording the
provider's answer. What is left `sending` past a timeout is settled here: a push
becomes `unknown` and gets status checks; a refund is settled by a status query where
the provider has one, else handed to a person. A callback that keeps failing backs
off and is parked as `needs_review`, so poisoned rows never starve anyone else's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.runtime import current
from billing.topups import refunds, states
from billing.topups.models import (
    CallbackDelivery,
    InboxStatus,
    Initiation,
    Refund,
    RefundStatus,
    Topup,
    TopupStatus,
)
from billing.topups.outcomes import Outcome, apply_outcome
from billing.topups.reviews import open_item
from providers.base import ProviderResult, StatusQuery

log = logging.getLogger(__name__)
# A push nothing reached the provider with is sent again after these waits; then failed.
RESEND_AFTER_S = (10, 30, 60, 300, 900)
# A refund's status is asked this many times before a person is asked instead.
REFUND_CHECKS = 5
# A callback that fails this many sweeps is parked; the waits double from redrive_after_s.
CALLBACK_ATTEMPTS = 8
BATCH = 100
_inbox = CallbackDelivery.__table__


def resend_later(session: Session, topup: Topup, result: ProviderResult) -> None:
    """Nothing reached the provider: the push goes back to `not_sent` and is re-sent
    with backoff; after the last attempt the top-up fails with the provider's reason."""
    states.move(topup, "initiation", Initiation.NOT_SENT)
    topup.initiate_attempts += 1
    if topup.initiate_attempts > len(RESEND_AFTER_S):
        topup.next_check_at = None
        apply_outcome(session, topup, Outcome.of("initiate", result))
        return
    wait = RESEND_AFTER_S[topup.initiate_attempts - 1]
    topup.next_check_at = utcnow() + timedelta(seconds=wait)
    topup.failure_code, topup.failure_reason = result.reason_code, (result.reason or "")[:300]


def unsent_topups(session: Session, now: datetime, stale: datetime) -> list[str]:
    """Pending pushes never sent: never tried (outbox lost), or due for a re-send."""
    never_tried = (Topup.next_check_at.is_(None)) & (Topup.created_at < stale)
    query = (
        select(Topup.id)
        .where(
            Topup.status == TopupStatus.PENDING,
            Topup.initiation == Initiation.NOT_SENT,
            Topup.provider != "card",  # auto-recharges: billing.cards.autorecharge.sweep
            or_(never_tried, Topup.next_check_at <= now),
        )
        .order_by(Topup.created_at)
        .limit(50)
    )
    return list(session.execute(query).scalars())


def stuck_initiations(now: datetime, stale: datetime) -> int:
    """Pushes left `sending` (the worker died inside initiate): only a status query can
    tell whether the provider got them, so they become `unknown` and are checked now."""
    runtime = current()
    with runtime.unit_of_work() as session:
        rows = (
            session.execute(
                select(Topup)
                .where(
                    Topup.status == TopupStatus.PENDING,
                    Topup.initiation == Initiation.SENDING,
                    Topup.updated_at < stale,
                )
                .order_by(Topup.updated_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        for topup in rows:
            states.move(topup, "initiation", Initiation.UNKNOWN)
            topup.next_check_at = now
            log.warning("top-up %s was left sending: status checks begin", topup.id)
        return len(rows)


def stuck_refunds(session: Session, now: datetime, stale: datetime) -> list[str]:
    query = (
        select(Refund.id)
        .where(
            Refund.status.in_((RefundStatus.REQUESTED, RefundStatus.SENDING)),
            Refund.updated_at < stale,
            or_(Refund.next_check_at.is_(None), Refund.next_check_at <= now),
        )
        .order_by(Refund.updated_at)
        .limit(50)
    )
    return list(session.execute(query).scalars())


def check_refund(refund_id: str) -> str:
    """A refund left in flight: send it if it never left, else ask the provider."""
    runtime = current()
    with runtime.sessions() as session:
        refund = session.get(Refund, refund_id)
        if refund is None or refund.status not in (RefundStatus.REQUESTED, RefundStatus.SENDING):
            return "settled"
        provider = session.get(Topup, refund.topup_id).provider
        status = refund.status
        query = StatusQuery(
            our_reference=refund.reference,
            provider_ref=refund.provider_ref,
            provider_txn_id=refund.provider_txn_id,
        )
    if status is RefundStatus.REQUESTED:  # its job was lost before the claim
        refunds.send_refund(refund_id)
        return "sent"
    adapter = runtime.gateways.adapter(provider)
    can_ask = adapter.capabilities.supports_status_query
    answer = None
    if can_ask:
        try:
            answer = adapter.query_status(query)
        except Exception:  # no answer this time; the next check asks again
            log.exception("refund %s: the %s status query raised", refund_id, provider)
    with runtime.unit_of_work() as session:
        refund = session.get(Refund, refund_id, with_for_update=True)
        if refund.status is not RefundStatus.SENDING:
            return refund.status.value
        # Only a confirmed refund settles it: an answer about a reference the provider
        # may never have received is no proof that no money moved.
        if answer is not None and answer.status in refunds.DONE and not answer.ambiguous:
            return refunds.settle(session, refund_id, answer)
        refund.attempts += 1  # the send was the first
        if can_ask and refund.attempts <= REFUND_CHECKS:
            refund.next_check_at = utcnow() + timedelta(seconds=30 * 2**refund.attempts)
            return "sending"
        _stuck(session, refund, provider, answer, can_ask)
        return refund.status.value


def _stuck(
    session: Session, refund: Refund, provider: str, answer: ProviderResult | None, asked: bool
) -> None:
    states.move(refund, "status", RefundStatus.UNKNOWN)
    refund.next_check_at = None
    why = f"{provider} has no status query"
    if asked:
        said = answer.status.value if answer else "nothing"
        why = f"{refund.attempts - 1} status queries; the last said {said}"
    open_item(
        session,
        kind="refund_stuck",
        tenant_id=refund.tenant_id,
        topup_id=refund.topup_id,
        summary=f"refund {refund.id} of top-up {refund.topup_id} left in flight ({provider})",
        detail={
            "refund_id": refund.id,
            "why": why,
            "reason_code": answer.reason_code if answer else None,
            "reason": answer.reason if answer else None,
        },
    )


def stuck_callbacks(session: Session, now: datetime, stale: datetime) -> list[int]:
    """Oldest first; a row that failed waits out its backoff, so it cannot starve others."""
    query = (
        select(CallbackDelivery.id)
        .where(
            CallbackDelivery.status.in_((InboxStatus.RECEIVED, InboxStatus.APPLYING)),
            CallbackDelivery.received_at < stale,
            or_(
                CallbackDelivery.next_attempt_at.is_(None),
                CallbackDelivery.next_attempt_at <= now,
            ),
        )
        .order_by(CallbackDelivery.received_at, CallbackDelivery.id)
        .limit(BATCH)
    )
    return list(session.execute(query).scalars())


def redrive_callback(inbox_id: int, reconcile: Callable[[int], None]) -> bool:
    """Apply a stuck callback once more, counting the attempt; park it when it keeps
    failing. True when it was applied (or no longer needed applying)."""
    runtime = current()
    with runtime.unit_of_work() as session:
        attempts = session.execute(
            update(_inbox)
            .where(
                _inbox.c.id == inbox_id,
                _inbox.c.status.in_((InboxStatus.RECEIVED, InboxStatus.APPLYING)),
            )
            .values(attempts=_inbox.c.attempts + 1)
            .returning(_inbox.c.attempts)
        ).scalar()
    if attempts is None:
        return True
    try:
        reconcile(inbox_id)
        return True
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:1000]
        log.warning("callback %s failed (attempt %s): %s", inbox_id, attempts, reason)
        with runtime.unit_of_work() as session:
            _failed_attempt(session, inbox_id, attempts, reason, runtime.settings.redrive_after_s)
        return False


def _failed_attempt(
    session: Session, inbox_id: int, attempts: int, reason: str, base_s: float
) -> None:
    row = session.get(CallbackDelivery, inbox_id, with_for_update=True)
    if row.status not in (InboxStatus.RECEIVED, InboxStatus.APPLYING):
        return
    row.error = reason
    if attempts < CALLBACK_ATTEMPTS:
        row.next_attempt_at = utcnow() + timedelta(seconds=base_s * 2 ** (attempts - 1))
        return
    row.status = InboxStatus.NEEDS_REVIEW
    row.next_attempt_at = None
    open_item(
        session,
        kind="callback_stuck",
        inbox_id=inbox_id,
        topup_id=row.topup_id,
        summary=f"{row.provider} callback {inbox_id} failed {attempts} times: parked",
        detail={"attempts": attempts, "error": reason},
    )
