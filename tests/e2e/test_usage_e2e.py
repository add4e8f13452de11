"""A CDR file through `billing serve`, rated by a real RQ worker, debited once."""

from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import func, select

from billing.usage.models import UsageRecord
from tests.factories import on_default_plan, top_up
from tests.integration.usage.test_import_and_list import asterisk_line
from tests.polling import eventually

pytestmark = pytest.mark.e2e


def statuses(sessions, tenant_id: str) -> dict[str, int]:
    with sessions() as session:
        found = session.execute(
            select(UsageRecord.status, func.count())
            .where(UsageRecord.tenant_id == tenant_id)
            .group_by(UsageRecord.status)
        )
        return dict(found.all())


def test_an_imported_file_is_rated_by_the_worker(
    live_url, worker, admin, make_tenant, runtime, sessions
):
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        on_default_plan(session, tenant.tenant_id)
        top_up(session, tenant.tenant_id, 50_00 + 2 * 89_48)  # two calls and a bit
    ids = [uuid.uuid4().hex for _ in range(3)]
    text = "".join(asterisk_line(tenant.tenant_id, "0712345678", 65, uid) for uid in ids)
    response = requests.post(
        f"{live_url}/v1/usage/cdrs/import",
        params={"format": "asterisk"},
        files={"file": ("Master.csv", text.encode(), "text/csv")},
        headers=admin.headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3
    done = eventually(
        lambda: statuses(sessions, tenant.tenant_id) == {"billed": 2, "unbilled": 1}, timeout_s=30
    )
    assert done, statuses(sessions, tenant.tenant_id)
    wallet = requests.get(f"{live_url}/v1/wallet", headers=tenant.headers, timeout=10).json()
    assert wallet["balance"] == 50_00
    usage = requests.get(f"{live_url}/v1/usage", headers=tenant.headers, timeout=10).json()
    assert usage["totals"]["records"] == 3
    assert {item["status"] for item in usage["items"]} == {"billed", "unbilled"}


def test_killing_the_worker_mid_rating_still_debits_each_record_once(
    live_url, service_env, admin, make_tenant, runtime, sessions, tmp_path
):
    import random
    import time

    from tests.e2e.conftest import kill_worker, start_worker

    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        on_default_plan(session, tenant.tenant_id)
        top_up(session, tenant.tenant_id, 10_000_000_00)
    log = tmp_path / "worker.log"
    worker = start_worker(service_env, log)
    try:
        for batch in range(3):  # three files, so jobs are queued while the worker dies
            text = "".join(
                asterisk_line(tenant.tenant_id, "0712345678", 65, f"{uuid.uuid4().hex}.{n}")
                for n in range(1_500)
            )
            response = requests.post(
                f"{live_url}/v1/usage/cdrs/import",
                params={"format": "asterisk"},
                files={"file": (f"Master-{batch}.csv", text.encode(), "text/csv")},
                headers=admin.headers,
                timeout=60,
            )
            assert response.json()["accepted"] == 1_500
        rng = random.Random(4)
        for _kill in range(2):
            time.sleep(rng.uniform(0.2, 1.0))
            kill_worker(worker)
            worker = start_worker(service_env, log)
        done = eventually(
            lambda: statuses(sessions, tenant.tenant_id) == {"billed": 4_500}, timeout_s=150
        )
        assert done, statuses(sessions, tenant.tenant_id)
    finally:
        kill_worker(worker)
    wallet = requests.get(f"{live_url}/v1/wallet", headers=tenant.headers, timeout=10).json()
    assert wallet["balance"] == 10_000_000_00 - 4_500 * 89_48
    with sessions() as session:
        unposted = session.execute(
            select(func.count()).where(
                UsageRecord.tenant_id == tenant.tenant_id,
                UsageRecord.ledger_transaction_id.is_(None),
            )
        ).scalar()
    assert unposted == 0
