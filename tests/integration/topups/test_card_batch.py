"""Stripe webhooks reconciled as a batch (`billing.cards.batch`), against the Stripe fake.

Each event's PaymentIntent is re-read from Stripe before money moves; a batch reads them
together and applies them in one transaction. Repeats and events out of order inside
one batch still credit each top-up once; an event that cannot be read or applied falls
out alone, and the others are credited all the same.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from pathlib import Path

import pytest
import stripe
from sqlalchemy import func, select, text

from billing import create_app
from billing.cards import batch
from billing.cards.models import CardCharge
from billing.core.config import Settings
from billing.core.ids import new_id
from billing.jobs.runner import BatchFailed, run_batch
from billing.ledger.models import Transaction
from billing.runtime import EXTENSION, Runtime
from billing.topups import inbox
from billing.topups.gateways import CARD
from billing.topups.inbox_writer import InboxWriter
from billing.topups.models import CallbackDelivery, Initiation, Topup, TopupStatus
from billing.topups.service import reference_for
from providers.base import CollectionRequest
from tests.stripe_fake import WEBHOOK_SECRET, StripeFake

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def fake(tmp_path_factory) -> StripeFake:
    logs: Path = tmp_path_factory.mktemp("card-batch")
    running = StripeFake(_free_port(), logs / "stripe.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def card_app(database_url, fake):
    return create_app(
        Settings(
            database_url=database_url,
            testing=True,
            secret_key="t",
            provider_settings={"card": fake.settings()},
        )
    )


@pytest.fixture
def card_runtime(card_app) -> Runtime:
    return card_app.extensions[EXTENSION]


@dataclasses.dataclass(frozen=True)
class Paid:
    id: str
    provider_ref: str


def paid_topup(runtime: Runtime, fake: StripeFake, tenant_id: str, pay: bool = True) -> Paid:
    """A pending card top-up whose PaymentIntent the payer has paid at Stripe."""
    topup_id = new_id("top")
    amount = 3_000_00
    result = runtime.gateways.adapter(CARD).initiate_collection(
        CollectionRequest(
            topup_id=topup_id,
            reference=reference_for(topup_id),
            msisdn="",
            amount_minor=amount,
            currency="TZS",
            description="test",
            callback_url="http://unused",
            metadata={"tenant_id": tenant_id},
        )
    )
    if pay:
        fake.pay(result.raw["client_secret"])
    topup = Topup(
        id=topup_id,
        tenant_id=tenant_id,
        reference=reference_for(topup_id),
        provider=CARD,
        msisdn="",
        amount_minor=amount,
        currency="TZS",
        status=TopupStatus.PENDING,
        initiation=Initiation.SENT,
        provider_ref=result.provider_ref,
        checks=0,
    )
    with runtime.sessions.begin() as session:
        session.add(topup)
    return Paid(topup_id, result.provider_ref)


def stored_event(runtime: Runtime, kind: str, intent_id: str) -> int:
    """A signed webhook naming the intent, verified and stored by the endpoint's code
    (its snapshot says nothing useful: the worker must re-read the intent)."""
    body = json.dumps(
        {
            "id": new_id("evt"),
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": {"id": intent_id, "object": "payment_intent", "metadata": {}}},
        }
    )
    headers = {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
        body, WEBHOOK_SECRET
    )}  # fmt: skip
    held_back = InboxWriter.for_engine(runtime.engine, written=lambda _ids: None)
    try:
        ack = inbox.receive(
            dataclasses.replace(runtime, inbox_writer=held_back),
            CARD,
            headers,
            body.encode(),
            "127.0.0.1",
        )
    finally:
        held_back.close()
    assert ack.status_code == 200
    with runtime.sessions() as session:
        return session.execute(
            select(CallbackDelivery.id).order_by(CallbackDelivery.id.desc()).limit(1)
        ).scalar_one()


def counts(runtime: Runtime, topup: Paid) -> tuple[int, int, str]:
    """Credits (ledger transactions kind topup_credit), fee rows, and the top-up's status."""
    with runtime.sessions() as session:
        credits = session.execute(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.idempotency_key == f"topup:{topup.id}")
        ).scalar_one()
        fees = session.execute(
            select(func.count()).select_from(CardCharge).where(CardCharge.topup_id == topup.id)
        ).scalar_one()
        status = session.get(Topup, topup.id).status.value
    return credits, fees, status


def writers(runtime: Runtime, topups: list[Paid]) -> int:
    """How many database transactions wrote these top-ups' credits and fees (by xmin)."""
    with runtime.sessions() as session:
        return session.execute(
            text(
                "SELECT count(DISTINCT xmin::text) FROM ledger_transactions"
                " WHERE reference = ANY(:ids)"
            ),
            {"ids": [t.id for t in topups]},
        ).scalar_one()


def inbox_status(runtime: Runtime, ids: list[int]) -> list[str]:
    with runtime.sessions() as session:
        rows = dict(
            session.execute(
                select(CallbackDelivery.id, CallbackDelivery.status).where(
                    CallbackDelivery.id.in_(ids)
                )
            ).all()
        )
    return [rows[i].value for i in ids]


def test_repeats_and_late_events_in_one_batch_credit_once(
    card_app, card_runtime, fake, make_tenant
):
    runtime = card_runtime
    tenants = [make_tenant().tenant_id for _ in range(2)]
    topups = [paid_topup(runtime, fake, tenants[n % 2]) for n in range(4)]
    first, second, third, fourth = topups
    ids = [
        stored_event(runtime, "payment_intent.succeeded", first.provider_ref),
        # The same payment named twice by two events, one of them stale (it was
        # processing once): both re-read the intent, which has succeeded.
        stored_event(runtime, "payment_intent.processing", second.provider_ref),
        stored_event(runtime, "payment_intent.succeeded", second.provider_ref),
        # Its success after a later event about it, in the same batch.
        stored_event(runtime, "payment_intent.requires_action", third.provider_ref),
        stored_event(runtime, "payment_intent.succeeded", third.provider_ref),
        stored_event(runtime, "payment_intent.succeeded", fourth.provider_ref),
    ]
    batch = [[i] for i in ids] + [[ids[0]], [ids[5]]]  # the same rows relayed twice
    with card_app.app_context():
        assert run_batch("topups.reconcile", batch) == len(batch)
        assert run_batch("topups.reconcile", [[i] for i in reversed(ids)]) == len(ids)  # again
    assert [counts(runtime, t) for t in topups] == [(1, 1, "succeeded")] * 4
    assert inbox_status(runtime, ids) == ["applied"] * len(ids)
    assert writers(runtime, topups) == 1  # every credit and fee in one database transaction
    with runtime.sessions() as session:  # Stripe's available_on, for the payout report
        available = session.execute(
            select(CardCharge.available_at).where(CardCharge.topup_id.in_([t.id for t in topups]))
        ).all()
    assert len(available) == 4 and None not in [at for (at,) in available]


def test_a_poisoned_event_falls_out_alone(card_app, card_runtime, fake, make_tenant):
    runtime = card_runtime
    tenant_id = make_tenant().tenant_id
    healthy = [paid_topup(runtime, fake, tenant_id) for _ in range(3)]
    unpaid = paid_topup(runtime, fake, tenant_id, pay=False)
    stranger = paid_topup(runtime, fake, tenant_id)
    with runtime.sessions.begin() as session:  # an intent we never stored: review, no money
        session.get(Topup, stranger.id).provider_ref = "pi_stored_for_another_attempt"
    ids = [stored_event(runtime, "payment_intent.succeeded", t.provider_ref) for t in healthy]
    missing = stored_event(runtime, "payment_intent.succeeded", "pi_no_such_intent")
    early = stored_event(runtime, "payment_intent.succeeded", unpaid.provider_ref)
    unknown = stored_event(runtime, "payment_intent.succeeded", stranger.provider_ref)
    batch = [[ids[0]], [missing], [ids[1]], [early], [unknown], [ids[2]]]
    with card_app.app_context(), pytest.raises(BatchFailed, match="1 of 6"):
        run_batch("topups.reconcile", batch)  # Stripe answers 404 for the missing one
    assert [counts(runtime, t) for t in healthy] == [(1, 1, "succeeded")] * 3
    assert counts(runtime, unpaid) == (0, 0, "pending")  # the webhook only confirms
    assert counts(runtime, stranger)[:2] == (0, 0)
    assert inbox_status(runtime, [*ids, missing, early, unknown]) == [
        "applied", "applied", "applied", "applying", "applied", "needs_review",
    ]  # fmt: skip
    with card_app.app_context(), pytest.raises(BatchFailed, match="1 of 1"):
        run_batch("topups.reconcile", [[missing]])  # retried: still no double anywhere
    assert [counts(runtime, t) for t in healthy] == [(1, 1, "succeeded")] * 3


def test_a_burst_applied_in_parts_credits_each_once(
    card_app, card_runtime, fake, make_tenant, monkeypatch
):
    runtime = card_runtime
    tenant_id = make_tenant().tenant_id
    monkeypatch.setattr(batch, "PART_MAX", 12)  # parts of 12 (PART_MIN is no smaller)
    topups = [paid_topup(runtime, fake, tenant_id) for _ in range(12 * 2 - 1)]
    ids = [stored_event(runtime, "payment_intent.succeeded", t.provider_ref) for t in topups]
    # The first payment named again at the end: in the batch's last part, not its first.
    ids.append(stored_event(runtime, "payment_intent.processing", topups[0].provider_ref))
    with card_app.app_context():
        assert run_batch("topups.reconcile", [[i] for i in ids]) == len(ids)
    assert [counts(runtime, t) for t in topups] == [(1, 1, "succeeded")] * len(topups)
    assert inbox_status(runtime, ids) == ["applied"] * len(ids)
    assert writers(runtime, topups) == 2  # two parts, each one database transaction
