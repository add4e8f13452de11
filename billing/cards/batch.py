"""Reconciling a burst of Stripe webhooks together, as a stream.

Each event needs its object re-read from Stripe before money moves, and Stripe answers
in tens to hundreds of milliseconds: one at a time, a worker would wait on Stripe for
nearly all of its time. So a batch asks for its objects at once (a small thread pool,
holding no lock, up to READ_AHEAD ahead of what is written) and applies them in parts,
each one transaction, each taking whatever has been read by the time the previous part
is written: the plain credits (a PaymentIntent that succeeded for a pending top-up,
exactly as asked) set-based through `billing.topups.credits`, with their fees booked
pipelined; everything else one by one by the same rule as alone
(`billing.cards.webhooks`).

A burst arrives over time, handed to the worker in small RQ jobs (the intake relays every
tenth of a second); a job's fixed costs (RQ, the claim, a part's locks and commit) and
its reads' start-up would be paid again for every few dozen events. So once its own
events are asked for, a job also claims the Stripe events still waiting untouched in the
inbox (`received`, never tried: no sweep's backoff is cut short) and streams them
through the same parts, until none wait or it has taken JOB_MAX. Their own jobs find
them applied and do nothing. A claimed event is `applying` exactly as its own job's
claim leaves it, so a worker that dies holding it loses nothing: its own job (or the
sweep) applies it, and the claim inside each part's transaction still decides who does.

An object that could not be read is left for the one-at-a-time path (one of the job's
own events) or for its own job; if a transaction fails, the runner reconciles each of
the job's own events alone (those of a part already committed stay no-ops).
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from billing.cards import webhooks
from billing.cards.models import CardCharge
from billing.cards.payments import SOURCE, FreshIntent, fee_of
from billing.cards.wallet_moves import FEES
from billing.core.money import Currency
from billing.jobs.shutdown import requested as stopping
from billing.ledger.postings import Posting, clearing
from billing.ledger.service import TransactionRequest, post_transactions
from billing.runtime import current
from billing.topups.credits import Credit, credit_all, is_plain_credit
from billing.topups.gateways import CARD
from billing.topups.jobs import FAMILY_BATCHES
from billing.topups.models import CallbackDelivery, InboxStatus, Topup
from billing.topups.outcomes import Outcome
from providers.stripe.callbacks import NAMESPACE, event_summary

READERS = 16  # concurrent reads from Stripe per worker process
# A part waits for at least PART_MIN objects (or all in flight), takes every other one
# read by then, and at most PART_MAX: one transaction's locks stay short.
PART_MIN, PART_MAX = 12, 100
READ_AHEAD = PART_MAX  # objects asked for beyond what is written
JOB_MAX = 2_000  # events one job takes from the inbox beyond its own
TAKE_FOR_S = 20.0  # ... and only for so long: a job stays a bounded piece of work
_pools: dict[int, ThreadPoolExecutor] = {}
_inbox = CallbackDelivery.__table__
_topups = Topup.__table__
_UNREAD = object()
Read = tuple[int, dict[str, Any], "Future[Any]"]  # inbox id, event summary, its object


def reconcile_events(inbox_ids: list[int]) -> list[int]:
    """Apply what can be applied at once; return the events left to reconcile alone."""
    runtime = current()
    with runtime.sessions() as session:
        rows = session.execute(
            select(_inbox.c.id, _inbox.c.body).where(
                _inbox.c.id.in_(inbox_ids),
                _inbox.c.status.in_((InboxStatus.RECEIVED, InboxStatus.APPLYING)),
            )
        ).all()
    adapter = runtime.gateways.adapter(CARD)

    def fetch(event: dict[str, Any]) -> Any:
        try:
            return webhooks.read_fresh(adapter, event)
        except Exception:  # Stripe away, a 5xx: the one-at-a-time path retries it
            return _UNREAD

    waiting = deque((row.id, event_summary(row.body)) for row in rows)
    reading: deque[Read] = deque()
    own, left = set(inbox_ids), []
    taken, until = 0, time.monotonic() + TAKE_FOR_S

    def ask() -> None:
        """Keep READ_AHEAD objects asked for: the job's own events, then those waiting."""
        nonlocal taken
        room = min(READ_AHEAD - len(reading) - len(waiting), JOB_MAX - taken)
        if room >= PART_MIN and time.monotonic() < until and not stopping():
            more = _take_waiting(room, exclude=own)
            taken += len(more)
            waiting.extend((inbox_id, event_summary(body)) for inbox_id, body in more)
        while waiting and len(reading) < READ_AHEAD:
            inbox_id, event = waiting.popleft()
            reading.append((inbox_id, event, _readers().submit(fetch, event)))

    ask()
    while reading:
        part = _next_part(reading)
        ask()  # Stripe answers for the next part while this one is written
        ready = []
        for inbox_id, event, got in part:
            if got is _UNREAD:
                if inbox_id in own:  # another's: left claimed for its own job
                    left.append(inbox_id)
            else:
                ready.append((inbox_id, event["type"], got))
        if ready:
            with runtime.unit_of_work() as session:
                claimed = webhooks.claim(session, [inbox_id for inbox_id, _, _ in ready])
                _apply_all(session, [item for item in ready if item[0] in claimed])
            runtime.relayer.relay_collected()  # this part's receipts and events, now
    return left


def _next_part(reading: deque[Read]) -> list[tuple[int, dict[str, Any], Any]]:
    """The oldest reads: at least PART_MIN (waited for), then all read by now, up to
    PART_MAX."""
    need = min(PART_MIN, len(reading))
    part = []
    while reading and len(part) < PART_MAX:
        inbox_id, event, future = reading[0]
        if len(part) >= need and not future.done():
            break
        reading.popleft()
        part.append((inbox_id, event, future.result()))
    return part


def _take_waiting(limit: int, exclude: set[int]) -> list[tuple[int, bytes]]:
    """Claim up to `limit` Stripe events nobody has touched yet (oldest first), as their
    own job's claim would; rows another worker is claiming are skipped, not waited for."""
    if limit <= 0:
        return []
    untouched = (
        select(_inbox.c.id)
        .where(
            _inbox.c.status == InboxStatus.RECEIVED,
            _inbox.c.provider == NAMESPACE,
            _inbox.c.attempts == 0,
            _inbox.c.id.not_in(exclude),
        )
        .order_by(_inbox.c.received_at, _inbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with current().unit_of_work() as session:
        rows = session.execute(
            update(_inbox)
            .where(_inbox.c.id.in_(untouched.scalar_subquery()))
            .values(status=InboxStatus.APPLYING)
            .returning(_inbox.c.id, _inbox.c.body)
        ).all()
    return sorted((row.id, row.body) for row in rows)


def _readers() -> ThreadPoolExecutor:
    """This process's pool: a forked work-horse does not inherit its parent's threads."""
    pid = os.getpid()
    if pid not in _pools:
        _pools[pid] = ThreadPoolExecutor(READERS, thread_name_prefix="stripe-read")
    return _pools[pid]


def _apply_all(session: Session, ready: list[tuple[int, str, Any]]) -> None:
    intents = [fresh.intent_id for _, _, fresh in ready if fresh is not None and fresh.intent_id]
    topups = {
        row.provider_ref: row
        for row in session.execute(
            select(_topups)
            .where(_topups.c.provider == CARD, _topups.c.provider_ref.in_(intents))
            .order_by(_topups.c.tenant_id, _topups.c.id)
            .with_for_update()
        )
    }
    seen = Counter(intents)
    credits: list[Credit] = []
    fees: list[tuple[Any, FreshIntent]] = []
    one_by_one = []
    for inbox_id, kind, fresh in ready:
        topup = topups.get(fresh.intent_id) if fresh is not None else None
        outcome = Outcome.of(SOURCE, fresh.result) if isinstance(fresh, FreshIntent) else None
        if (
            outcome is not None
            and seen[fresh.intent_id] == 1
            and fresh.metadata.get("topup_id") == getattr(topup, "id", None)
            and is_plain_credit(topup, outcome)
        ):
            credits.append(Credit(inbox_id, topup, outcome))
            fees.append((topup, fresh))
        else:
            one_by_one.append((getattr(topup, "tenant_id", ""), inbox_id, kind, fresh))
    credit_all(session, credits)
    _book_fees(session, fees)
    for _tenant, inbox_id, kind, fresh in sorted(one_by_one, key=lambda item: item[:2]):
        webhooks.apply_fresh(session, inbox_id, kind, fresh)


def _book_fees(session: Session, credited: list[tuple[Any, FreshIntent]]) -> None:
    """Each credited charge's gross, fee and net; the fees posted pipelined."""
    rows, requests = [], []
    for topup, fresh in sorted(credited, key=lambda item: (item[0].tenant_id, item[0].id)):
        figures = fee_of(fresh, topup.currency)
        if figures is None:
            continue
        charge_id, txn_id, gross, fee, available_at = figures
        rows.append(
            {
                "id": charge_id,
                "topup_id": topup.id,
                "tenant_id": topup.tenant_id,
                "payment_intent_id": fresh.intent_id,
                "balance_transaction_id": txn_id,
                "currency": topup.currency,
                "gross_minor": gross,
                "fee_minor": fee,
                "net_minor": gross - fee,
                "available_at": available_at,
            }
        )
        if fee:
            money = Currency(topup.currency)
            requests.append(
                TransactionRequest(
                    tenant_id=topup.tenant_id,
                    idempotency_key=f"card-fee:{charge_id}",
                    kind="card_fee",
                    postings=[Posting(clearing(CARD), money, fee), Posting(FEES, money, -fee)],
                    description=f"Stripe fee on charge {charge_id} of top-up {topup.id}",
                    reference=topup.id,
                )
            )
    posted = iter(post_transactions(session, requests))
    for row in rows:
        row["fee_transaction_id"] = next(posted).id if row["fee_minor"] else None
    if rows:
        session.execute(insert(CardCharge.__table__), rows)


FAMILY_BATCHES[NAMESPACE] = reconcile_events
