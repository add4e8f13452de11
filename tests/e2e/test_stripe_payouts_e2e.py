# ruff: noqa: F401, F811 (module-scoped fixtures imported by name)
"""Stripe's payout reconciled end to end: `billing serve`, a real worker and the Stripe
fake's signed webhooks book two card top-ups, a staff refund (partly) and a lost
chargeback; the fake pays out; finance reconciles through the API and the CLI."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import timedelta

import pytest
import requests

from billing.core.clock import utcnow
from tests.e2e.cards_services import card_env, card_url, card_worker, fake, logs, service
from tests.e2e.conftest import BILLING
from tests.e2e.test_cards_e2e import _charge_id, _chargeback, _refund_statuses, paid
from tests.polling import eventually

pytestmark = pytest.mark.e2e


def test_a_payout_with_a_refund_and_a_lost_chargeback_matches_the_ledger(
    service, fake, sessions, make_tenant, admin, finance, card_env
):
    since = utcnow() - timedelta(minutes=1)
    tenant = make_tenant()
    refunded = paid(service, fake, sessions, tenant, 80_000_00)
    disputed = paid(service, fake, sessions, tenant, 15_000_00)
    answer = requests.post(
        f"{service}/v1/topups/{refunded['id']}/refund",
        json={"amount": 5_000_00, "reason": "overpaid"},
        headers=admin.headers,
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    assert eventually(lambda: _refund_statuses(sessions, refunded["id"]) == ["succeeded"],
                      timeout_s=30)  # fmt: skip
    dispute = fake.dispute(_charge_id(fake, disputed), 15_000_00)
    assert eventually(lambda: _chargeback(sessions, dispute["id"]), timeout_s=30)
    fake.close_dispute(dispute["id"], "lost")
    assert eventually(
        lambda: (row := _chargeback(sessions, dispute["id"])) and row.status == "lost",
        timeout_s=30,
    )
    [stripe_payout] = fake._post("/_malipo/payouts", {})["data"]

    window = {"since": since.isoformat(), "until": (utcnow() + timedelta(hours=1)).isoformat()}
    answer = requests.post(
        f"{service}/v1/stripe-payouts", json=window, headers=finance.headers, timeout=60
    )
    assert answer.status_code == 200, answer.text
    [payout] = answer.json()
    assert payout["id"] == stripe_payout["id"] and payout["amount"] == stripe_payout["amount"]
    totals = payout["totals"]
    # Charges of earlier tests on this database that Stripe made available and this fake
    # never paid out are flagged `not_in_payout`, once each: how many depends on the tests
    # run before, so they are counted apart (none of them is this tenant's).
    outcomes = dict(totals["outcomes"])
    outcomes.pop("not_in_payout", None)
    assert outcomes == {"matched": 4, "payout": 1}  # 2 charges, a refund, a dispute
    assert (totals["gross"], totals["refunds"], totals["disputes"]) == (
        95_000_00, 5_000_00, 15_000_00,
    )  # fmt: skip
    assert (
        totals["gross"] - totals["fees"] - totals["refunds"] - totals["disputes"]
        == (payout["amount"])
    )
    assert totals["reconciles"] is True

    report = requests.get(
        f"{service}/v1/stripe-payouts/{payout['id']}/report", headers=finance.headers, timeout=30
    )
    assert report.status_code == 200 and report.headers["Content-Type"].startswith("text/csv")
    rows = [r for r in csv.DictReader(io.StringIO(report.text)) if r["outcome"]]
    elsewhere = [r for r in rows if r["outcome"] == "not_in_payout"]
    assert not any(r["tenant_id"] == tenant.tenant_id for r in elsewhere)
    rows = [r for r in rows if r["outcome"] != "not_in_payout"]
    assert sorted(r["kind"] for r in rows) == ["charge", "charge", "dispute", "payout", "refund"]
    assert all(r["ledger_transaction_id"] for r in rows if r["kind"] != "payout")
    denied = requests.get(
        f"{service}/v1/stripe-payouts/{payout['id']}", headers=tenant.headers, timeout=10
    )
    assert denied.status_code == 404

    # The CLI finds it reconciled already and prints it again, unchanged.
    day = since.date().isoformat()
    done = subprocess.run(
        [BILLING, "stripe-payouts", "--since", day], env=card_env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{payout['id']}: reconciled before" in done.stdout
    assert ": reconciles" in done.stdout
    same = subprocess.run(
        [BILLING, "reconcile", "--provider", "stripe", "--since", day], env=card_env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert same.returncode == 0 and same.stdout == done.stdout, same.stderr[-2000:]
