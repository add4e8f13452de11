"""Top-ups through `billing serve`, Redis and a real RQ worker — including a worker killed
with SIGKILL (work-horse too) in the middle of reconciliations."""

from __future__ import annotations

import random
import time

import pytest
import requests
from sqlalchemy import func, select

from billing.ledger.models import Transaction
from billing.topups.models import Topup, TopupStatus
from tests.e2e.conftest import kill_worker, start_worker
from tests.polling import eventually

pytestmark = pytest.mark.e2e


def request_topup(live_url: str, tenant, msisdn: str, provider: str) -> str:
    response = requests.post(
        f"{live_url}/v1/topups",
        json={"amount": 2_000_00, "currency": "TZS", "msisdn": msisdn, "provider": provider},
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def statuses(sessions, ids: list[str]) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(select(Topup.id, Topup.status).where(Topup.id.in_(ids)))
        return {row.id: row.status for row in rows}


def credit_counts(sessions, ids: list[str]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(Transaction.reference, func.count())
            .where(Transaction.reference.in_(ids))
            .group_by(Transaction.reference)
        )
        return dict(rows.all())


@pytest.mark.parametrize(
    ("provider", "msisdn"),
    [
        ("mpesa", "0754 321 999"),
        ("tigopesa", "0714 321 999"),
        ("airtelmoney", "0784 321 999"),
        ("halopesa", "0621 321 999"),
        ("tpesa", "0733 321 999"),
        ("ezypesa", "0777 321 999"),
    ],
)
def test_a_top_up_by_each_provider_succeeds_through_the_worker(
    live_url, worker, make_tenant, sessions, provider, msisdn
):
    tenant = make_tenant()
    topup_id = request_topup(live_url, tenant, msisdn, provider)
    done = eventually(
        lambda: statuses(sessions, [topup_id])[topup_id] == TopupStatus.SUCCEEDED, timeout_s=30
    )
    assert done
    wallet = requests.get(f"{live_url}/v1/wallet", headers=tenant.headers, timeout=10).json()
    assert wallet["balance"] == 2_000_00


def test_killing_the_worker_mid_reconciliation_still_credits_each_top_up_once(
    live_url, service_env, tenant, sessions, tmp_path
):
    log = tmp_path / "worker.log"
    worker = start_worker(service_env, log)
    ids = [
        request_topup(live_url, tenant, f"0621 {n:03d} 9{n % 10}9", "halopesa") for n in range(12)
    ]
    rng = random.Random(7)
    for _kill in range(3):  # kill at random moments while callbacks are being reconciled
        time.sleep(rng.uniform(0.1, 0.6))
        kill_worker(worker)
        worker = start_worker(service_env, log)
    try:
        settled = eventually(
            lambda: all(s == TopupStatus.SUCCEEDED for s in statuses(sessions, ids).values()),
            timeout_s=60,
        )
        assert settled, statuses(sessions, ids)
        assert credit_counts(sessions, ids) == dict.fromkeys(ids, 1)
        wallet = requests.get(f"{live_url}/v1/wallet", headers=tenant.headers, timeout=10)
        assert wallet.json()["balance"] == 12 * 2_000_00
    finally:
        kill_worker(worker)
