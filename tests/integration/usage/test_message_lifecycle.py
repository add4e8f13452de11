"""A message's statuses over its life (POST /v1/usage/messages): a new status of a stored
message is a new revision, re-rated, charged once; a status seen before is a duplicate."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from billing.ledger.balances import account_balance
from billing.ledger.integrity import find_discrepancies
from billing.ledger.postings import WALLET
from billing.rating.message_status import CHARGED, FAILED
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import default_plan_definition
from billing.tenants.models import BillingMode
from billing.usage.debits import vat_on
from billing.usage.models import AccruedUsage, UsageRecord
from tests.integration.usage.conftest import send

pytestmark = pytest.mark.integration

MARKETING = 55_13  # a marketing template to a Tanzanian number, standard plan (net)
SMS_2_PARTS = 44_00  # 2 segments to Vodacom at TZS 22
SENT_AT = "2026-03-02T09:00:00Z"


def message(tenant_id: str, source_id: str, status: str, channel: str = "whatsapp") -> dict:
    record = {
        "source_system": f"gw-{tenant_id}",
        "source_id": source_id,
        "tenant_id": tenant_id,
        "channel": channel,
        "recipient": "255754000222",
        "sent_at": SENT_AT,
        "status": status,
    }
    if channel == "whatsapp":
        record["category"] = "marketing"
    else:
        record["body"] = "Habari " * 30  # 210 characters: 2 segments
    return record


def history(sessions, tenant_id: str, source_id: str) -> list[UsageRecord]:
    with sessions() as session:
        return list(
            session.execute(
                select(UsageRecord)
                .where(UsageRecord.tenant_id == tenant_id, UsageRecord.source_id == source_id)
                .order_by(UsageRecord.revision)
            ).scalars()
        )


def current(sessions, tenant_id: str, source_id: str) -> UsageRecord:
    [row] = [r for r in history(sessions, tenant_id, source_id) if r.status != "superseded"]
    return row


def wallet(sessions, tenant_id: str) -> int:
    with sessions() as session:
        return account_balance(session, tenant_id, WALLET, "TZS").balance_minor


def accrued(sessions, tenant_id: str) -> int:
    with sessions() as session:
        row = session.get(AccruedUsage, (tenant_id, "TZS"))
        return row.net_minor if row else 0


def on_refunding_plan(runtime, tenant_id: str) -> None:
    """The standard plan, but a charged message reported failed is refunded."""
    with runtime.unit_of_work() as session:
        definition = {**default_plan_definition(), "refund_failed_messages": True}
        since = datetime(2020, 1, 1, tzinfo=UTC)
        saved = save_plan(session, "TZ-REFUNDS", "refunds failed", definition, valid_from=since)
        assign_plan(session, tenant_id, saved.plan.id, valid_from=datetime(2020, 1, 2, tzinfo=UTC))


def gross(net: int) -> int:
    return net + vat_on(net)


def test_sent_then_delivered_charges_once_and_read_changes_nothing(
    client, admin, rated_tenant, sessions
):
    tenant = rated_tenant()
    tid = tenant.tenant_id
    sent = send(client, admin, [message(tid, "wamid.1", "sent")], "/v1/usage/messages")
    assert sent["results"][0]["status"] == "accepted"
    assert (current(sessions, tid, "wamid.1").net_minor, wallet(sessions, tid)) == (0, 1_000_00)

    delivered = send(client, admin, [message(tid, "wamid.1", "delivered")], "/v1/usage/messages")
    assert (delivered["updated"], delivered["results"][0]["status"]) == (1, "updated")
    row = current(sessions, tid, "wamid.1")
    assert (row.revision, row.status, row.net_minor) == (1, "billed", MARKETING)
    assert row.delivery_status == "delivered,sent"
    assert delivered["results"][0]["usage_id"] == str(row.id)
    assert wallet(sessions, tid) == 1_000_00 - gross(MARKETING)

    read = send(client, admin, [message(tid, "wamid.1", "read")], "/v1/usage/messages")
    assert read["updated"] == 1
    again = send(
        client, admin, [message(tid, "wamid.1", s) for s in ("delivered", "sent", "read")],
        "/v1/usage/messages",
    )  # fmt: skip
    assert (again["duplicates"], again["updated"]) == (3, 0)
    rows = history(sessions, tid, "wamid.1")
    assert [(r.revision, r.status) for r in rows] == [
        (0, "superseded"), (1, "superseded"), (2, "billed"),
    ]  # fmt: skip
    assert (
        rows[2].net_minor == MARKETING
        and rows[2].ledger_transaction_id == rows[1].ledger_transaction_id
    )
    assert wallet(sessions, tid) == 1_000_00 - gross(MARKETING)  # charged once, never again
    with sessions() as session:
        assert find_discrepancies(session, tid) == []


def test_a_charged_sms_that_fails_stays_charged_unless_the_plan_refunds(
    client, admin, rated_tenant, runtime, sessions
):
    keeps, refunds = rated_tenant(), rated_tenant()
    on_refunding_plan(runtime, refunds.tenant_id)
    for tenant in (keeps, refunds):
        tid = tenant.tenant_id
        send(client, admin, [message(tid, "sms-1", "accepted", "sms")], "/v1/usage/messages")
        assert wallet(sessions, tid) == 1_000_00 - gross(SMS_2_PARTS)
        send(client, admin, [message(tid, "sms-1", "failed", "sms")], "/v1/usage/messages")
    kept = current(sessions, keeps.tenant_id, "sms-1")
    assert (kept.revision, kept.net_minor, kept.disposition) == (1, SMS_2_PARTS, "CHARGED_FAILED")
    assert wallet(sessions, keeps.tenant_id) == 1_000_00 - gross(SMS_2_PARTS)
    refunded = current(sessions, refunds.tenant_id, "sms-1")
    assert (refunded.net_minor, refunded.breakdown["note"]) == (0, "failed_refunded")
    assert wallet(sessions, refunds.tenant_id) == 1_000_00  # refunded by the difference
    with sessions() as session:
        assert find_discrepancies(session, refunds.tenant_id) == []


def test_postpaid_accrues_the_difference(client, admin, rated_tenant, sessions):
    tenant = rated_tenant(balance=0, billing_mode=BillingMode.POSTPAID)
    tid = tenant.tenant_id
    send(client, admin, [message(tid, "wamid.p", "sent")], "/v1/usage/messages")
    assert accrued(sessions, tid) == 0
    send(client, admin, [message(tid, "wamid.p", "delivered")], "/v1/usage/messages")
    assert accrued(sessions, tid) == MARKETING
    send(client, admin, [message(tid, "wamid.p", "read")], "/v1/usage/messages")
    assert accrued(sessions, tid) == MARKETING
    assert current(sessions, tid, "wamid.p").status == "accrued"


def test_another_tenants_message_id_changes_nothing(client, admin, rated_tenant, sessions):
    owner, other = rated_tenant(), rated_tenant()
    record = message(owner.tenant_id, "wamid.x", "sent")
    send(client, admin, [record], "/v1/usage/messages")
    forged = {**record, "tenant_id": other.tenant_id, "status": "delivered"}
    result = send(client, admin, [forged], "/v1/usage/messages")
    assert result["results"][0]["status"] == "rejected"
    assert "another tenant" in result["results"][0]["reason"]
    assert [r.revision for r in history(sessions, owner.tenant_id, "wamid.x")] == [0]
    assert wallet(sessions, owner.tenant_id) == wallet(sessions, other.tenant_id) == 1_000_00


def test_statuses_of_one_message_posted_at_once_charge_it_once(
    app, client, admin, rated_tenant, sessions
):
    tenant = rated_tenant()
    tid = tenant.tenant_id
    send(client, admin, [message(tid, "wamid.r", "sent")], "/v1/usage/messages")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def post(status: str) -> None:
        try:
            with app.test_client() as own:
                barrier.wait()
                send(own, admin, [message(tid, "wamid.r", status)], "/v1/usage/messages")
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=post, args=(s,)) for s in ("delivered", "read", "delivered", "read")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    row = current(sessions, tid, "wamid.r")
    assert (row.delivery_status, row.net_minor, row.revision) == (
        "delivered,read,sent",
        MARKETING,
        2,
    )
    assert wallet(sessions, tid) == 1_000_00 - gross(MARKETING)


def expected_net(channel: str, seen: set[str], refund: bool) -> int:
    charged, failed = seen & CHARGED[channel], seen & FAILED[channel]
    if not charged or (failed and refund):
        return 0
    return MARKETING if channel == "whatsapp" else SMS_2_PARTS


_sms = st.sampled_from(
    ["queued", "accepted", "sent", "delivered", "undelivered", "failed", "rejected"]
)
_wa = st.sampled_from(["sent", "delivered", "read", "failed"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.tuples(st.integers(0, 2), _wa), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 2), _sms), min_size=1, max_size=12),
    st.lists(st.integers(1, 5), min_size=1, max_size=6),
    st.booleans(),
)
def test_any_order_and_repetition_of_statuses_charges_once_at_the_right_price(
    client, admin, rated_tenant, runtime, sessions, whatsapp, sms, batch_sizes, refund
):
    """Three WhatsApp messages and three SMS, their statuses in any order and repeated,
    posted in batches of any size: each message is charged once, by the statuses it has
    shown, and the wallet and the ledger agree with the current records."""
    tenant = rated_tenant()
    tid = tenant.tenant_id
    if refund:
        on_refunding_plan(runtime, tid)
    run = uuid.uuid4().hex[:8]
    reports = [message(tid, f"{run}-wa-{n}", s) for n, s in whatsapp]
    reports += [message(tid, f"{run}-sms-{n}", s, "sms") for n, s in sms]
    reports.sort(key=lambda r: hash((r["source_id"], r["status"], run)))  # any interleaving
    start = 0
    for size in itertools.cycle(batch_sizes):
        if start >= len(reports):
            break
        send(client, admin, reports[start : start + size], "/v1/usage/messages")
        start += size
    seen: dict[tuple[str, str], set[str]] = {}
    for report in reports:
        seen.setdefault((report["source_id"], report["channel"]), set()).add(report["status"])
    total = 0
    for (source_id, channel), statuses in seen.items():
        row = current(sessions, tid, source_id)
        assert set(row.delivery_status.split(",")) == statuses
        net = expected_net(channel, statuses, refund)
        assert row.net_minor == net, (source_id, statuses)
        assert len(history(sessions, tid, source_id)) == row.revision + 1
        total += gross(net)
    assert wallet(sessions, tid) == 1_000_00 - total
    with sessions() as session:
        assert find_discrepancies(session, tid) == []


def test_a_message_batch_looked_up_whole_is_not_probed_again(
    client, admin, rated_tenant, sessions, monkeypatch
):
    """store_messages looks every key up: intake takes the new ones as new (no probe)."""
    import billing.usage.rated_insert as rated_insert

    probes = []
    stored_keys = rated_insert.stored_keys
    monkeypatch.setattr(rated_insert, "stored_keys", lambda *a: probes.append(1) or stored_keys(*a))
    tid = rated_tenant().tenant_id
    answer = send(client, admin, [message(tid, f"wamid.p{n}", "sent") for n in range(40)],
                  "/v1/usage/messages")  # fmt: skip
    assert (answer["accepted"], probes) == (40, [])


def test_a_message_stored_after_the_lookup_is_caught_and_applied_as_a_new_status(
    client, admin, rated_tenant, sessions, monkeypatch
):
    """The lookup missed a stored message (another request stored it between): the COPY
    meets the unique key, the batch is redone with every key looked up, and the report
    becomes the stored message's new status; nothing is charged twice."""
    import billing.usage.lifecycle as lifecycle

    tid = rated_tenant().tenant_id
    send(client, admin, [message(tid, "wamid.late", "sent")], "/v1/usage/messages")
    monkeypatch.setattr(lifecycle, "_stored", lambda session, keys: set())  # missed
    batch = [message(tid, "wamid.new", "delivered"), message(tid, "wamid.late", "delivered")]
    answer = send(client, admin, batch, "/v1/usage/messages")
    assert [r["status"] for r in answer["results"]] == ["accepted", "updated"]
    assert [r.revision for r in history(sessions, tid, "wamid.late")] == [0, 1]
    assert current(sessions, tid, "wamid.late").net_minor == MARKETING
    assert wallet(sessions, tid) == 1_000_00 - 2 * gross(MARKETING)
    with sessions() as session:
        assert find_discrepancies(session, tid) == []
