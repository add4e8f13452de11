"""Top-ups through `billing serve`, Redis and a real RQ worker — including a worker killed
with SIGKILL (work-horse too) inside a reconciling transaction."""

from __future__ import annotations

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


def test_a_worker_killed_inside_reconciliation_credits_each_top_up_once(
    live_url, service_env, tenant, sessions, tmp_path
):
    """The kill lands inside the reconciling transaction (the worker says so through the
    MALIPO_TEST_HOLD seam and is held there): nothing is credited by the killed worker,
    and the next worker's redrive credits each top-up exactly once."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    held = {
        **service_env,
        "MALIPO_TEST_HOLD": "topups.reconcile",
        "MALIPO_TEST_HOOK_DIR": str(hooks),
    }
    log = tmp_path / "worker.log"
    worker = start_worker(held, log)
    try:
        ids = [
            request_topup(live_url, tenant, f"0621 {n:03d} 9{n % 10}9", "halopesa")
            for n in range(6)
        ]
        inside = eventually(lambda: list(hooks.glob("*.inside")), timeout_s=90, every_s=0.2)
        assert inside, log.read_text()[-3000:]
        assert credit_counts(sessions, ids) == {}  # the reconciliation is open, uncommitted
    finally:
        kill_worker(worker)
    assert credit_counts(sessions, ids) == {}  # abandoned with the process
    worker = start_worker(service_env, log)
    try:
        settled = eventually(
            lambda: all(s == TopupStatus.SUCCEEDED for s in statuses(sessions, ids).values()),
            timeout_s=90,
        )
        assert settled, statuses(sessions, ids)
    finally:
        kill_worker(worker)
    assert credit_counts(sessions, ids) == dict.fromkeys(ids, 1)
    wallet = requests.get(f"{live_url}/v1/wallet", headers=tenant.headers, timeout=10)
    assert wallet.json()["balance"] == 6 * 2_000_00
