"""A CDR file through `billing serve`, rated by a real RQ worker, debited once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from billing.core.clock import utcnow
from billing.jobs.outbox import defer
from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET
from billing.usage.intake import insert_new
from billing.usage.models import UsageRecord
from billing.usage.submissions import cdr_rows
from tests.e2e.conftest import kill_worker, start_worker, stop_worker
from tests.factories import on_default_plan, top_up
from tests.integration.usage.conftest import cdr
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


def test_a_worker_killed_inside_its_rating_transaction_is_redone_once(
    service_env, make_tenant, runtime, sessions, tmp_path
):
    """The kill lands at a known point: the worker says (a file, through the
    MALIPO_TEST_HOLD seam) that it is inside the transaction that rates and debits, and
    is held there. Nothing of it commits; a new worker rates every record once."""
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        on_default_plan(session, tenant.tenant_id)
        top_up(session, tenant.tenant_id, 10_000_000_00)
    count = 1_500
    rows = cdr_rows([cdr(tenant.tenant_id) for _ in range(count)])
    with sessions() as session, session.begin():
        # Stored pending, as intake leaves them when it cannot rate, and the job asked for.
        for row in rows:
            row["received_at"] = utcnow() - timedelta(minutes=5)
        ids = sorted(insert_new(session, rows).values())
        defer(session, "usage.rate", ids[0], ids[-1])
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    held = {
        **service_env,
        "MALIPO_TEST_HOLD": "usage.rate,usage.retry",  # the job, or the sweep if first
        "MALIPO_TEST_HOOK_DIR": str(hooks),
    }
    log = tmp_path / "worker.log"
    worker = start_worker(held, log)
    try:
        inside = eventually(lambda: list(hooks.glob("*.inside")), timeout_s=90, every_s=0.2)
        assert inside, log.read_text()[-3000:]
    finally:
        kill_worker(worker)
    # Abandoned: the open transaction rolled back with the process.
    assert statuses(sessions, tenant.tenant_id) == {"pending": count}
    assert wallet_balance(sessions, tenant.tenant_id) == 10_000_000_00
    worker = start_worker(service_env, log)
    try:
        done = eventually(
            lambda: statuses(sessions, tenant.tenant_id) == {"billed": count}, timeout_s=120
        )
        assert done, statuses(sessions, tenant.tenant_id)
    finally:
        stop_worker(worker)
    assert wallet_balance(sessions, tenant.tenant_id) == 10_000_000_00 - count * 89_48
    with sessions() as session:
        unposted = session.execute(
            select(func.count()).where(
                UsageRecord.tenant_id == tenant.tenant_id,
                UsageRecord.ledger_transaction_id.is_(None),
            )
        ).scalar()
    assert unposted == 0


def wallet_balance(sessions, tenant_id: str) -> int:
    with sessions() as session:
        return account_balance(session, tenant_id, WALLET, "TZS").balance_minor
