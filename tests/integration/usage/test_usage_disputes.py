"""Disputed usage: a record or a period, its evidence with the rating breakdown, and a
re-rating with a chosen plan for the disputed days only, posted as difference entries."""

from __future__ import annotations

import uuid

import pytest

from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import SEED_VALID_FROM, seed_destinations
from billing.usage.debits import vat_on
from tests.factories import top_up
from tests.integration.disputes.support import assert_books_and_trail_sound, open_dispute, resolve
from tests.integration.usage.conftest import cdr, rows, send
from tests.integration.usage.test_rerating import definition

pytestmark = pytest.mark.integration


@pytest.fixture
def on_plan(runtime, make_tenant):
    """A prepaid tenant with TZS 1,000.00 on a plan of its own (Yas peak TZS 70/min), and a
    cheaper plan (TZS 60/min) an admin may choose."""
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        seed_destinations(session)
        own = save_plan(
            session,
            f"T-{uuid.uuid4().hex[:8]}",
            "own",
            definition("70"),
            valid_from=SEED_VALID_FROM,
        )
        cheaper = save_plan(
            session,
            f"T-{uuid.uuid4().hex[:8]}",
            "cheaper",
            definition("60"),
            valid_from=SEED_VALID_FROM,
        )
        assign_plan(session, tenant.tenant_id, own.plan.id, valid_from=SEED_VALID_FROM)
        top_up(session, tenant.tenant_id, 1_000_00)
    return tenant, cheaper.plan.id


def wallet(sessions, tenant) -> int:
    with sessions() as session:
        return account_balance(session, tenant.tenant_id, WALLET, "TZS").balance_minor


def gross(net: int) -> int:
    return net + vat_on(net)


def test_a_disputed_call_is_re_rated_with_the_chosen_plan_for_its_day_only(
    client, admin, on_plan, sessions
):
    tenant, cheaper = on_plan
    send(
        client,
        admin,
        [
            cdr(tenant.tenant_id),
            cdr(tenant.tenant_id),
            cdr(
                tenant.tenant_id,
                started_at="2026-03-09T09:00:00+03:00",
                answered_at="2026-03-09T09:00:05+03:00",
            ),
        ],
    )
    assert wallet(sessions, tenant) == 1_000_00 - 3 * gross(75_83)
    first = rows(sessions, tenant.tenant_id)[0]
    made = open_dispute(
        client,
        tenant,
        subject_type="usage",
        subject_id=str(first.id),
        reason="My plan is TZS 60 a minute",
    )
    assert (made["period_start"], made["period_end"]) == ("2026-03-02", "2026-03-03")
    evidence = client.get(f"/v1/disputes/{made['id']}/evidence", headers=admin.headers)
    assert evidence.status_code == 200
    [record] = evidence.get_json()["usage"]
    assert (record["zone"], record["band"], record["billed_units"], record["net_minor"]) == (
        "TZ-MOB-YAS",
        "peak",
        65,
        75_83,
    )
    assert record["breakdown"] and record["raw_amount"]
    assert [t["kind"] for t in evidence.get_json()["ledger_transactions"]] == ["usage"]

    done = resolve(
        client,
        admin,
        made["id"],
        outcome="rerate",
        plan_id=cheaper,
        note="Priced again on the plan sold to the tenant",
    )
    resolution = done["resolution"]
    assert resolution["documents"]["records_changed"] == 2  # both calls of that day
    assert resolution["documents"]["net_difference_minor"] == 2 * (65_00 - 75_83)
    assert len(resolution["ledger_transaction_ids"]) == 1
    assert len(resolution["documents"]["plan_assignment_ids"]) == 2
    assert wallet(sessions, tenant) == 1_000_00 - 2 * gross(65_00) - gross(75_83)
    # After the disputed day, the tenant's own plan again.
    send(
        client,
        admin,
        [
            cdr(
                tenant.tenant_id,
                started_at="2026-03-10T09:00:00+03:00",
                answered_at="2026-03-10T09:00:05+03:00",
            )
        ],
    )
    assert rows(sessions, tenant.tenant_id)[-1].net_minor == 75_83
    # History kept: the old rows are superseded, not edited.
    old = [r for r in rows(sessions, tenant.tenant_id) if r.status == "superseded"]
    assert [r.net_minor for r in old] == [75_83, 75_83]
    again = resolve(
        client,
        admin,
        made["id"],
        outcome="rerate",
        plan_id=cheaper,
        note="Priced again on the plan sold to the tenant",
    )
    assert again["resolution"] == resolution
    assert wallet(sessions, tenant) == 1_000_00 - 2 * gross(65_00) - 2 * gross(75_83)
    evidence = client.get(f"/v1/disputes/{made['id']}/evidence", headers=admin.headers)
    assert [r["revision"] for r in evidence.get_json()["usage"]] == [0, 1]
    trail = client.get("/v1/audit-events", query_string={"tenant_id": tenant.tenant_id},
                       headers=admin.headers).get_json()["items"]  # fmt: skip
    assert [e["action"] for e in reversed(trail)] == ["dispute.opened", "usage.rerated",
                                                      "dispute.resolved"]  # fmt: skip
    assert_books_and_trail_sound(sessions, tenant.tenant_id)


def test_a_disputed_period_is_credited(client, admin, on_plan, sessions):
    tenant, _cheaper = on_plan
    send(client, admin, [cdr(tenant.tenant_id)])
    made = open_dispute(
        client,
        tenant,
        subject_type="usage_period",
        period_start="2026-03-01",
        period_end="2026-03-08",
        reason="Calls I never made",
    )
    evidence = client.get(f"/v1/disputes/{made['id']}/evidence", headers=admin.headers)
    assert len(evidence.get_json()["usage"]) == 1
    before = wallet(sessions, tenant)
    resolve(
        client,
        admin,
        made["id"],
        outcome="credit",
        amount=gross(75_83),
        note="The call was a test call of ours",
    )
    assert wallet(sessions, tenant) == before + gross(75_83)
    # A refund answers a top-up, not usage.
    other = open_dispute(
        client,
        tenant,
        subject_type="usage_period",
        period_start="2026-03-01",
        period_end="2026-03-02",
    )
    refused = client.post(
        f"/v1/disputes/{other['id']}/resolve",
        json={"outcome": "refund", "note": "n"},
        headers=admin.headers,
    )
    assert refused.status_code == 422 and "outcome" in refused.get_json()["errors"]
    assert_books_and_trail_sound(sessions, tenant.tenant_id)
