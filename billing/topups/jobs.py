"""Top-up jobs: ask the provider, reconcile a callback, and sweep what went quiet.

Every job takes ids, holds no row lock while it talks to a provider, and is safe to
run twice: the initiation is claimed before it is sent, and the credit carries the
ledger key `topup:<id>`.
"""

from __future__ import annotations

import dataclasses
import logging
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
from providers.base import CollectionRequest, ProviderStatus, StatusQuery, unknown_outcome

# After the push: query at +30 s, then 1, 2, 5 and 15 minutes later; then expire.
CHECK_AFTER_S = (30, 60, 120, 300, 900)
# An unsigned callback the provider cannot confirm this long is handed to a person.
CONFIRM_WITHIN = timedelta(minutes=15)
log = logging.getLogger(__name__)
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
    """Apply a stored callback. A signed one is applied in the claiming transaction; an
    unsigned success is first confirmed with the provider, holding no lock meanwhile."""
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
        reference = claimed.event.get("our_reference") or ""
        outcome = callback_outcome(claimed.event)
        adapter = runtime.gateways.adapter(claimed.provider)
        if not needs_confirmation(adapter, outcome):
            apply_callback(session, inbox_id, reference, outcome)
            return
        known = session.execute(select(Topup.id).where(Topup.reference == reference)).first()
    if known is not None:  # nothing to confirm for a reference we never issued
        outcome = _confirmed(adapter, claimed.event, outcome, claimed.received_at)
    with runtime.unit_of_work() as session:
        apply_callback(session, inbox_id, reference, outcome)


def callback_outcome(event: dict) -> Outcome:
    fields = (
        "amount_minor",
        "currency",
        "msisdn",
        "provider_ref",
        "provider_txn_id",
        "reason_code",
        "reason",
        "unknown_status",
    )
    return Outcome(
        source="callback",
        status=ProviderStatus(event["status"]),
        **{name: event.get(name) for name in fields},
    )


def needs_confirmation(adapter, outcome: Outcome) -> bool:
    """Only a success can move money, and only an unsigned one is worth asking about."""
    caps = adapter.capabilities
    return (
        outcome.status is ProviderStatus.SUCCEEDED
        and not caps.signs_callbacks
        and caps.supports_status_query  # Tigo: the source-address allow-list is all there is
    )


def _confirmed(adapter, event: dict, outcome: Outcome, received_at: datetime) -> Outcome:
    """An unsigned callback's success is believed only once the provider's API agrees."""
    answer = adapter.query_status(
        StatusQuery(
            our_reference=event.get("our_reference") or "",
            provider_ref=event.get("provider_ref"),
            provider_txn_id=event.get("provider_txn_id"),
        )
    )
    if answer.status is ProviderStatus.SUCCEEDED:
        amount = answer.amount_minor if answer.amount_minor is not None else outcome.amount_minor
        return dataclasses.replace(outcome, amount_minor=amount)
    if answer.status is ProviderStatus.PENDING and utcnow() - received_at < CONFIRM_WITHIN:
        raise RuntimeError("the provider has not confirmed the payment yet; retrying")
    return dataclasses.replace(outcome, status=answer.status, source="unconfirmed")


def apply_callback(session, inbox_id: int, reference: str, outcome: Outcome) -> None:
    inbox = session.get(CallbackDelivery, inbox_id, with_for_update=True)
    topup = session.execute(
        select(Topup).where(Topup.reference == reference).with_for_update()
    ).scalar()
    if topup is None:
        open_item(
            session,
            kind="unknown_reference",
            inbox_id=inbox_id,
            summary=f"callback for unknown reference {reference!r} ({inbox.provider})",
            detail={
                "reference": reference,
                "status": outcome.status.value,
                "amount_minor": outcome.amount_minor,
            },
        )
        inbox.status = InboxStatus.NEEDS_REVIEW
        return
    if outcome.source == "unconfirmed":
        open_item(
            session,
            kind="unconfirmed",
            tenant_id=topup.tenant_id,
            topup_id=topup.id,
            inbox_id=inbox_id,
            summary=f"unconfirmed success for top-up {topup.id}",
            detail={"status_query_says": outcome.status.value},
        )
        done = "unconfirmed"
    else:
        done = apply_outcome(session, topup, outcome, inbox_id)
    inbox.topup_id = topup.id
    inbox.applied_at = utcnow()
    needs_person = done in ("mismatch", "conflict", "unknown_status", "unconfirmed")
    inbox.status = InboxStatus.NEEDS_REVIEW if needs_person else InboxStatus.APPLIED


def check_topup(topup_id: str) -> None:
    """A top-up whose callback has not come: ask the provider, or count it down to expiry."""
    runtime = current()
    with runtime.sessions() as session:
        topup = session.get(Topup, topup_id)
        if topup is None or topup.status is not TopupStatus.PENDING:
            return
        provider, query = (
            topup.provider,
            StatusQuery(
                our_reference=topup.reference,
                provider_ref=topup.provider_ref,
                provider_txn_id=topup.provider_txn_id,
            ),
        )
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
