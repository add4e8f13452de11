"""Reconciling a stored Stripe webhook: the object is re-read from Stripe, then applied.

The inbox row was verified (signature, tolerance) when it arrived; here only what Stripe
says *now* moves money. The webhook merely names the object: a PaymentIntent, a charge
or a dispute. Each must lead to a card top-up by the PaymentIntent id stored when we
created it, and its metadata must name that top-up; anything else is a review item and
moves nothing. Because the current object is applied (not the event's snapshot) and
every ledger transaction carries a key of its own, events may come in any order and
any number of times.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.cards import chargebacks, payments, refunds
from billing.core.clock import utcnow
from billing.runtime import current
from billing.topups.gateways import CARD
from billing.topups.jobs import FAMILY_RECONCILERS
from billing.topups.models import CallbackDelivery, InboxStatus, Topup, TopupStatus
from billing.topups.outcomes import Outcome, apply_outcome
from billing.topups.reviews import open_item
from providers.stripe.callbacks import NAMESPACE, event_summary

log = logging.getLogger(__name__)
_inbox = CallbackDelivery.__table__


def reconcile_event(inbox_id: int) -> None:
    """Apply one stored Stripe event (the `topups.reconcile` job hands Stripe's here)."""
    runtime = current()
    with runtime.sessions() as session:
        row = session.execute(
            select(_inbox.c.body, _inbox.c.status).where(_inbox.c.id == inbox_id)
        ).first()
    if row is None or row.status not in (InboxStatus.RECEIVED, InboxStatus.APPLYING):
        return
    event = event_summary(row.body)
    fresh = read_fresh(runtime.gateways.adapter(CARD), event)  # no lock held meanwhile
    with runtime.unit_of_work() as session:
        if claim(session, [inbox_id]):
            apply_fresh(session, inbox_id, event["type"], fresh)


def read_fresh(adapter, event: dict[str, Any]) -> Any:
    """The object the event names, as Stripe has it now (None: a type we do not act on)."""
    kind = event["type"]
    if kind.startswith("payment_intent."):
        return payments.read(adapter, event["object_id"])
    if kind == "charge.refunded":
        return refunds.read(adapter, event["object_id"])
    if kind.startswith("charge.dispute."):
        return chargebacks.read(adapter, event["object_id"])
    return None


def claim(session: Session, inbox_ids: list[int]) -> set[int]:
    """The inbox rows still to apply, claimed in the caller's transaction."""
    claimed = session.execute(
        update(_inbox)
        .where(
            _inbox.c.id.in_(inbox_ids),
            _inbox.c.status.in_((InboxStatus.RECEIVED, InboxStatus.APPLYING)),
        )
        .values(status=InboxStatus.APPLYING)
        .returning(_inbox.c.id)
    )
    return {row.id for row in claimed}


def apply_fresh(session: Session, inbox_id: int, kind: str, fresh: Any) -> str:
    """Apply a claimed event's fresh object and close its inbox row."""
    done = "ignored" if fresh is None else _apply(session, inbox_id, kind, fresh)
    session.execute(
        update(_inbox)
        .where(_inbox.c.id == inbox_id)
        .values(
            status=InboxStatus.NEEDS_REVIEW if done == "review" else InboxStatus.APPLIED,
            applied_at=utcnow(),
            topup_id=fresh.topup_id if fresh is not None else None,
        )
    )
    return done


def _apply(session: Session, inbox_id: int, kind: str, fresh: Any) -> str:
    topup = (
        session.execute(
            select(Topup)
            .where(Topup.provider == CARD, Topup.provider_ref == fresh.intent_id)
            .with_for_update()
        ).scalar()
        if fresh.intent_id
        else None
    )
    if topup is None:
        _wait_for_initiation(session, fresh)
    problem = _identity_problem(topup, fresh)
    if problem:
        fresh.topup_id = topup.id if topup is not None else None
        open_item(
            session,
            kind="identity_mismatch" if topup is not None else "unknown_reference",
            tenant_id=topup.tenant_id if topup else None,
            topup_id=topup.id if topup else None,
            inbox_id=inbox_id,
            summary=f"stripe {kind}: {problem}"[:300],
            detail={"intent": fresh.intent_id, "metadata": fresh.metadata, "why": problem},
        )
        return "review"
    fresh.topup_id = topup.id
    if kind.startswith("payment_intent."):
        return payments.apply(session, topup, fresh, inbox_id)
    # A refund or dispute may overtake its payment's own webhook: the PaymentIntent read
    # with it credits the top-up first (once, by its ledger key), then the money goes back.
    if fresh.intent_result is not None:
        apply_outcome(session, topup, Outcome.of(payments.SOURCE, fresh.intent_result), inbox_id)
    if kind == "charge.refunded":
        return refunds.apply(session, topup, fresh)
    return chargebacks.apply(session, topup, fresh)


class NotInitiatedYet(RuntimeError):
    """The webhook overtook our own record of the intent (an auto-recharge confirmed at
    creation): the job is tried again once the intent id is stored."""


def _wait_for_initiation(session: Session, fresh: Any) -> None:
    named = session.get(Topup, fresh.metadata.get("topup_id") or "")
    if (
        named is not None
        and named.provider == CARD
        and named.provider_ref is None
        and named.status is TopupStatus.PENDING
    ):
        raise NotInitiatedYet(f"top-up {named.id} has not stored its PaymentIntent yet")


def _identity_problem(topup: Topup | None, fresh: Any) -> str | None:
    """A webhook confirms a payment we started; it never names which one."""
    if topup is None:
        return f"no card top-up has PaymentIntent {fresh.intent_id!r}"
    named = fresh.metadata.get("topup_id")
    if named != topup.id:
        return f"the PaymentIntent names top-up {named!r}, we stored it for {topup.id}"
    return None


FAMILY_RECONCILERS[NAMESPACE] = reconcile_event
