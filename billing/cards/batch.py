"""Reconciling a burst of Stripe webhooks together.

Each event needs its object re-read from Stripe before money moves, and Stripe answers
in tens to hundreds of milliseconds: one at a time, a worker would wait on Stripe for
nearly all of its time. So a batch asks for every object at once (a small thread pool,
holding no lock), and applies them in a few parts, each in one transaction, each as soon
as its objects are in while the pool still reads the next part's: the plain credits (a
PaymentIntent that succeeded for a pending top-up, exactly as asked) set-based through
`billing.topups.credits`, with their fees booked pipelined; everything else one by one
by the same rule as alone (`billing.cards.webhooks`). An object that could not be read
is left for the one-at-a-time path; if a transaction fails, the runner reconciles every
event alone (those of a part already committed are applied, and stay no-ops).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from billing.cards import webhooks
from billing.cards.models import CardCharge
from billing.cards.payments import SOURCE, FreshIntent, fee_of
from billing.cards.wallet_moves import FEES
from billing.core.money import Currency
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
# A batch is applied in parts, each its own transaction, so that the reads of the next
# part overlap the writing of this one; a part's fixed cost (claim, locks, commit) is
# shared by at least PART_MIN events.
PART_MIN, MAX_PARTS = 12, 4
_pools: dict[int, ThreadPoolExecutor] = {}
_inbox = CallbackDelivery.__table__
_topups = Topup.__table__
_UNREAD = object()


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
    events = [(row.id, event_summary(row.body)) for row in rows]

    def fetch(item: tuple[int, dict]) -> Any:
        try:
            return webhooks.read_fresh(adapter, item[1])
        except Exception:  # Stripe away, a 5xx: the one-at-a-time path retries it
            return _UNREAD

    reads = [_readers().submit(fetch, event) for event in events]  # all asked at once
    left: list[int] = []
    for part in _parts(len(events)):
        ready = []
        for index in part:  # this part's objects; the pool reads the next parts meanwhile
            inbox_id, event = events[index]
            got = reads[index].result()
            if got is _UNREAD:
                left.append(inbox_id)
            else:
                ready.append((inbox_id, event["type"], got))
        if not ready:
            continue
        with runtime.unit_of_work() as session:
            claimed = webhooks.claim(session, [inbox_id for inbox_id, _, _ in ready])
            _apply_all(session, [item for item in ready if item[0] in claimed])
    return left


def _parts(count: int) -> list[range]:
    """The batch in up to MAX_PARTS transactions of at least PART_MIN events each: while
    one part is written, Stripe answers for the next (its time hidden behind ours)."""
    parts = max(1, min(MAX_PARTS, count // PART_MIN))
    bounds = [count * n // parts for n in range(parts + 1)]
    return [range(start, end) for start, end in itertools.pairwise(bounds)]


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
