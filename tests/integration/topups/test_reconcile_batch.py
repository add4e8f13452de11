"""A burst of callbacks reconciled as one batch: one transaction, or each alone on failure."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select, text

from billing.core.clock import utcnow
from billing.core.ids import new_id
from billing.events.models import PlatformEvent
from billing.jobs.models import OutboxMessage
from billing.jobs.runner import BatchFailed, run_batch
from billing.ledger.models import Transaction
from billing.tenants.models import Language, Tenant
from billing.topups import inbox
from billing.topups.inbox_writer import InboxWriter
from billing.topups.models import CallbackDelivery, InboxStatus, Initiation, Topup, TopupStatus
from billing.topups.reconcile_batch import reconcile_together
from billing.topups.service import reference_for
from providers.sandbox import sandbox_settings, selcom_signing

pytestmark = pytest.mark.integration


def pending(live, tenant_id: str, amount_minor: int = 2_000_00) -> Topup:
    topup_id = new_id("top")
    topup = Topup(
        id=topup_id,
        tenant_id=tenant_id,
        reference=reference_for(topup_id),
        provider="halopesa",
        msisdn="255621000999",
        amount_minor=amount_minor,
        currency="TZS",
        status=TopupStatus.PENDING,
        initiation=Initiation.SENT,
        checks=0,
    )
    with live.runtime.sessions.begin() as session:
        session.add(topup)
    return topup


def stored_callback(live, reference: str, amount_minor: int, status: str = "COMPLETED") -> int:
    """A signed Selcom webhook, verified and stored as the endpoint does, not yet relayed."""
    body = {
        "transid": new_id("push"),
        "order_id": reference,
        "reference": "SB" + reference[-8:],
        "result": "SUCCESS" if status == "COMPLETED" else "FAIL",
        "resultcode": "000" if status == "COMPLETED" else "999",
        "payment_status": status,
        "amount": str(amount_minor // 100),
        "msisdn": "255621000999",
        "message": "Payment received",
        "channel": "HALOPESA",
    }
    selcom = sandbox_settings("halopesa", "http://127.0.0.1/sandbox/selcom")
    headers = selcom_signing.sign(
        body, selcom["api_key"], selcom["api_secret"], selcom_signing.local_now()
    )
    # As if the process stopped right after its commit: what it queued is not relayed.
    held_back = InboxWriter.for_engine(live.runtime.engine, written=lambda _ids: None)
    runtime = dataclasses.replace(live.runtime, inbox_writer=held_back)
    try:
        ack = inbox.receive(runtime, "selcom", headers, json.dumps(body).encode(), "127.0.0.1")
    finally:
        held_back.close()
    assert ack.status_code == 200
    with live.runtime.sessions() as session:
        return session.execute(
            select(CallbackDelivery.id).order_by(CallbackDelivery.id.desc()).limit(1)
        ).scalar_one()


def credits(live, topup_id: str) -> int:
    with live.runtime.sessions() as session:
        return session.execute(
            select(func.count()).select_from(Transaction).where(Transaction.reference == topup_id)
        ).scalar_one()


def database_transactions(live, topups: list[Topup]) -> int:
    """How many PostgreSQL transactions wrote these top-ups' credits (rows share an xmin)."""
    with live.runtime.sessions() as session:
        return session.execute(
            text(
                "SELECT count(DISTINCT xmin::text) FROM ledger_transactions"
                " WHERE reference = ANY(:ids)"
            ),
            {"ids": [t.id for t in topups]},
        ).scalar_one()


def statuses(live, inbox_ids: list[int]) -> list[str]:
    with live.runtime.sessions() as session:
        rows = dict(
            session.execute(
                select(CallbackDelivery.id, CallbackDelivery.status).where(
                    CallbackDelivery.id.in_(inbox_ids)
                )
            ).all()
        )
    return [rows[i].value for i in inbox_ids]


def test_a_burst_for_several_tenants_is_credited_once_each(live, make_tenant):
    tenants = [make_tenant().tenant_id for _ in range(3)]
    topups = [pending(live, tenants[n % 3], (n + 1) * 1_000_00) for n in range(9)]
    ids = [stored_callback(live, t.reference, t.amount_minor) for t in topups]
    unknown = stored_callback(live, "NOSUCHREF0000000001", 5_000_00)
    with live.app.app_context():
        assert run_batch("topups.reconcile", [[i] for i in [*ids, unknown]]) == 10
        run_batch("topups.reconcile", [[i] for i in ids])  # a re-run changes nothing
    assert [credits(live, t.id) for t in topups] == [1] * 9
    assert database_transactions(live, topups) == 1  # the batch, not nine of its own
    assert statuses(live, ids) == ["applied"] * 9
    assert statuses(live, [unknown]) == ["needs_review"]


def test_one_bad_row_fails_alone_and_the_rest_are_credited(live, make_tenant):
    tenant_id = make_tenant().tenant_id
    topups = [pending(live, tenant_id) for _ in range(3)]
    ids = [stored_callback(live, t.reference, t.amount_minor) for t in topups]
    with live.runtime.sessions.begin() as session:  # an event no code can read
        session.get(CallbackDelivery, ids[1]).event = {"status": "no-such-status"}
    with live.app.app_context(), pytest.raises(BatchFailed, match="1 of 3"):
        run_batch("topups.reconcile", [[i] for i in ids])
    assert [credits(live, t.id) for t in topups] == [1, 0, 1]
    assert database_transactions(live, topups) == 2  # each alone after the batch failed
    assert statuses(live, ids) == ["applied", "received", "applied"]


def test_an_unsigned_success_is_left_for_the_path_that_asks_the_provider(live, make_tenant):
    tenant_id = make_tenant().tenant_id
    topup = pending(live, tenant_id)
    with live.runtime.sessions.begin() as session:
        row = CallbackDelivery(
            provider="selcom",
            dedupe_key=new_id("mpesa"),
            status=InboxStatus.RECEIVED,
            headers={},
            body=b"{}",
            received_at=utcnow(),
            deliveries=1,
            event={"status": "succeeded", "our_reference": topup.reference},
        )
        session.add(row)
        session.flush()
        inbox_id = row.id
    with live.app.app_context():
        assert reconcile_together([[inbox_id]]) == [[inbox_id]]
    assert credits(live, topup.id) == 0
    assert statuses(live, [inbox_id]) == ["applying"]  # claimed; the single path goes on


def credit_record(live, topup: Topup) -> dict:
    """What a credit left behind, named so that a batch and a single run compare equal."""
    with live.runtime.sessions() as session:
        row = session.get(Topup, topup.id)
        event = session.scalars(
            select(PlatformEvent).where(
                PlatformEvent.type == "topup.succeeded",
                PlatformEvent.data["topup_id"].as_string() == topup.id,
            )
        ).one()
        jobs = session.scalars(
            select(OutboxMessage.job).where(
                OutboxMessage.dedupe_key == f"receipt:{topup.id}",
            )
        ).all()
        receipt = dict(event.data["receipt"])
        receipt.pop("text")  # carries the time of payment and the reference
        return {
            "status": row.status.value,
            "ledger": row.ledger_transaction_id is not None,
            "provider_txn_id": row.provider_txn_id is not None,
            "next_check_at": row.next_check_at,
            "event_txn_id_is_the_topups": event.data["provider_txn_id"] == row.provider_txn_id,
            "event": {
                k: v
                for k, v in event.data.items()
                if k not in ("receipt", "topup_id", "provider_txn_id")
            },
            "receipt": receipt,
            "fiscal_jobs": jobs,
        }


def test_set_based_credits_leave_what_one_at_a_time_credits_leave(live, make_tenant):
    tenant_id = make_tenant().tenant_id
    with live.runtime.sessions.begin() as session:  # receipts name the language to send
        session.get(Tenant, tenant_id).language = Language.SW
    alone, together = pending(live, tenant_id, 3_000_00), pending(live, tenant_id, 3_000_00)
    first = stored_callback(live, alone.reference, alone.amount_minor)
    with live.app.app_context():
        run_batch("topups.reconcile", [[first]])  # a batch of one: the single path
    ids = [stored_callback(live, together.reference, together.amount_minor)]
    later = [pending(live, tenant_id, 1_000_00) for _ in range(2)]
    ids += [stored_callback(live, t.reference, t.amount_minor) for t in later]
    with live.app.app_context():
        assert reconcile_together([[i] for i in ids]) == []
    single, batched = credit_record(live, alone), credit_record(live, together)
    assert single["receipt"]["balance"] == 3_000_00
    assert batched["receipt"]["balance"] == 6_000_00  # balances run on within the burst
    assert single["receipt"]["language"] == batched["receipt"]["language"] == "sw"
    single["receipt"].pop("balance"), batched["receipt"].pop("balance")
    assert batched == single
    assert [credit_record(live, t)["receipt"]["balance"] for t in later] == [7_000_00, 8_000_00]
    with live.runtime.sessions() as session:
        links = session.execute(
            select(CallbackDelivery.topup_id, CallbackDelivery.applied_at).where(
                CallbackDelivery.id.in_(ids)
            )
        ).all()
    assert sorted(topup_id for topup_id, _at in links) == sorted(t.id for t in [together, *later])
    assert all(at is not None for _id, at in links)


def test_a_mixed_burst_takes_each_callback_down_its_own_path(live, make_tenant):
    tenant_id = make_tenant().tenant_id
    paid, short, failed, twice = (pending(live, tenant_id) for _ in range(4))
    ids = [
        stored_callback(live, paid.reference, paid.amount_minor),
        stored_callback(live, short.reference, short.amount_minor - 100_00),  # paid less
        stored_callback(live, failed.reference, failed.amount_minor, status="REJECTED"),
        stored_callback(live, twice.reference, twice.amount_minor),
        stored_callback(live, twice.reference, twice.amount_minor),  # another transid
    ]
    with live.app.app_context():
        assert reconcile_together([[i] for i in ids]) == []
    assert [credits(live, t.id) for t in (paid, short, failed, twice)] == [1, 0, 0, 1]
    assert statuses(live, ids) == ["applied", "needs_review", "applied", "applied", "applied"]
    with live.runtime.sessions() as session:
        assert [session.get(Topup, t.id).status for t in (paid, short, failed, twice)] == [
            TopupStatus.SUCCEEDED,
            TopupStatus.PENDING,
            TopupStatus.FAILED,
            TopupStatus.SUCCEEDED,
        ]
