"""Re-rating a period with a corrected plan: the difference posted once, history kept."""

from __future__ import annotations

import copy
import uuid
from datetime import date
from decimal import Decimal

import pytest

from billing.ledger.balances import account_balance
from billing.ledger.postings import USAGE_REVENUE, WALLET
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import SEED_VALID_FROM, default_plan_definition, seed_destinations
from billing.tenants.models import BillingMode
from billing.usage.debits import vat_on
from tests.factories import top_up
from tests.integration.usage.conftest import cdr, rows, send

pytestmark = pytest.mark.integration

PERIOD = {"start": "2026-03-01", "end": "2026-04-01"}


def definition(peak: str) -> dict:
    """The standard plan with another peak rate to Yas mobiles."""
    changed = copy.deepcopy(default_plan_definition())
    for rate in changed["duration_rates"]:
        if rate["zone"] == "TZ-MOB-YAS" and rate["band"] == "peak":
            rate["rate"] = Decimal(peak)
    return changed


@pytest.fixture
def own_plan(runtime, make_tenant):
    """A tenant on a plan of its own (so correcting it touches no other test)."""

    def make(billing_mode=BillingMode.PREPAID, balance=1_000_00):
        tenant = make_tenant(billing_mode=billing_mode)
        code = f"TEST-{uuid.uuid4().hex[:8]}"
        with runtime.unit_of_work() as session:
            seed_destinations(session)
            saved = save_plan(session, code, "test", definition("70"), valid_from=SEED_VALID_FROM)
            assign_plan(session, tenant.tenant_id, saved.plan.id, valid_from=SEED_VALID_FROM)
            if balance:
                top_up(session, tenant.tenant_id, balance)

        def correct(peak: str) -> None:
            with runtime.unit_of_work() as session:
                save_plan(session, code, "test", definition(peak), valid_from=SEED_VALID_FROM)

        return tenant, correct

    return make


def rerate(client, admin, tenant) -> dict:
    response = client.post(
        "/v1/usage/rerate", json={"tenant_id": tenant.tenant_id, **PERIOD}, headers=admin.headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wallet(sessions, tenant, kind=WALLET) -> int:
    with sessions() as session:
        return account_balance(session, tenant.tenant_id, kind, "TZS").balance_minor


@pytest.mark.parametrize(("peak", "net"), [("60", 65_00), ("90", 97_50)])
def test_the_difference_is_posted_and_the_old_rows_point_at_the_new(
    client, admin, own_plan, sessions, peak, net
):
    tenant, correct = own_plan()
    send(client, admin, [cdr(tenant.tenant_id), cdr(tenant.tenant_id)])
    old_gross = 2 * (75_83 + vat_on(75_83))
    assert wallet(sessions, tenant) == 1_000_00 - old_gross
    correct(peak)
    summary = rerate(client, admin, tenant)
    assert (summary["examined"], summary["changed"]) == (2, 2)
    assert summary["net_difference"] == 2 * (net - 75_83)
    new_gross = 2 * (net + vat_on(net))
    assert wallet(sessions, tenant) == 1_000_00 - new_gross
    assert wallet(sessions, tenant, USAGE_REVENUE) == 2 * net
    old_a, old_b, new_a, new_b = rows(sessions, tenant.tenant_id)
    assert (old_a.status, old_a.net_minor, old_a.superseded_by_id) == (
        "superseded", 75_83, new_a.id,
    )  # fmt: skip
    assert old_b.superseded_by_id == new_b.id
    assert (new_a.status, new_a.net_minor, new_a.revision, new_a.plan_version) == (
        "billed", net, 1, 2,
    )  # fmt: skip
    assert new_a.source_id == old_a.source_id
    assert new_a.ledger_transaction_id == int(summary["ledger_transaction_id"])

    # Twice: nothing changed, nothing posted.
    again = rerate(client, admin, tenant)
    assert (again["changed"], again["ledger_transaction_id"]) == (0, None)
    assert wallet(sessions, tenant) == 1_000_00 - new_gross
    # A resend of the original CDR is still a duplicate.
    assert (
        send(client, admin, [{**cdr(tenant.tenant_id), "source_id": old_a.source_id}])["duplicates"]
        == 1
    )


def test_usage_lists_show_the_current_rows_only(client, admin, own_plan, sessions):
    tenant, correct = own_plan()
    send(client, admin, [cdr(tenant.tenant_id)])
    correct("60")
    rerate(client, admin, tenant)
    listed = client.get("/v1/usage", headers=tenant.headers).get_json()
    assert [(i["net"], i["status"]) for i in listed["items"]] == [(65_00, "billed")]
    assert listed["totals"]["net"] == 65_00


def test_postpaid_rerating_changes_the_accrual_not_the_ledger(client, admin, own_plan, sessions):
    from billing.usage.statements import period_lines

    tenant, correct = own_plan(billing_mode=BillingMode.POSTPAID, balance=0)
    send(client, admin, [cdr(tenant.tenant_id)])
    correct("60")
    summary = rerate(client, admin, tenant)
    assert (summary["changed"], summary["ledger_transaction_id"]) == (1, None)
    with sessions() as session:
        [line] = period_lines(session, tenant.tenant_id, date(2026, 3, 1), date(2026, 4, 1))
    assert line.net_minor == 65_00
    assert wallet(sessions, tenant) == 0


def test_rerating_a_rise_the_wallet_cannot_pay_leaves_it_unbilled(
    client, admin, own_plan, sessions
):
    gross = 75_83 + vat_on(75_83)
    tenant, correct = own_plan(balance=gross)  # exactly one call's worth
    send(client, admin, [cdr(tenant.tenant_id)])
    assert wallet(sessions, tenant) == 0
    correct("90")
    rerate(client, admin, tenant)
    old, new = rows(sessions, tenant.tenant_id)
    assert (old.status, new.status, new.reason) == (
        "superseded", "unbilled", "insufficient_balance",
    )  # fmt: skip
    assert wallet(sessions, tenant) == gross  # the old charge credited back, the new one owed


def test_rerating_needs_an_admin_and_a_real_period(client, tenant, admin):
    body = {"tenant_id": tenant.tenant_id, **PERIOD}
    assert client.post("/v1/usage/rerate", json=body, headers=tenant.headers).status_code == 403
    bad = client.post("/v1/usage/rerate", json={**body, "end": "2026-02-01"}, headers=admin.headers)
    assert bad.status_code == 422 and "end" in bad.get_json()["errors"]
    unknown = client.post(
        "/v1/usage/rerate", json={**body, "tenant_id": "ten_NOPE"}, headers=admin.headers
    )
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"


def test_one_batch_across_a_plan_change_prices_each_record_by_its_own_date(
    client, admin, own_plan, sessions, runtime
):
    from datetime import UTC, datetime

    tenant, _correct = own_plan()
    with runtime.unit_of_work() as session:
        dearer = save_plan(
            session, f"TEST-{uuid.uuid4().hex[:8]}", "dearer", definition("90"),
            valid_from=SEED_VALID_FROM,
        )  # fmt: skip
        assign_plan(
            session, tenant.tenant_id, dearer.plan.id, valid_from=datetime(2026, 3, 15, tzinfo=UTC)
        )
    late = cdr(tenant.tenant_id, started_at="2026-03-16T09:00:00+03:00",
               answered_at="2026-03-16T09:00:05+03:00")  # fmt: skip
    send(client, admin, [cdr(tenant.tenant_id), late])
    before, after = rows(sessions, tenant.tenant_id)
    assert (before.net_minor, after.net_minor) == (75_83, 97_50)
    assert before.plan_id != after.plan_id
