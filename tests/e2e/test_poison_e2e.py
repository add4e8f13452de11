"""A tenant on a plan priced beyond any charge, beside a healthy tenant, through
`billing serve` and a real worker: the poison is parked, the healthy call is billed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from billing.core.clock import utcnow
from billing.tariffs.rate_plans import assign_plan
from billing.tariffs.seed import SEED_VALID_FROM
from billing.usage.models import UsageRecord
from tests.e2e.conftest import start_worker, stop_worker
from tests.factories import on_default_plan, top_up
from tests.integration.usage.conftest import cdr, rows
from tests.integration.usage.test_poison import poison_plan, reviews
from tests.polling import eventually

pytestmark = pytest.mark.e2e


def test_a_poisoned_plan_never_stops_a_healthy_tenants_billing(
    live_url, service_env, admin, make_tenant, runtime, sessions, tmp_path
):
    poisoned, healthy = make_tenant(), make_tenant()
    with runtime.unit_of_work() as session:
        assign_plan(session, poisoned.tenant_id, poison_plan(session), SEED_VALID_FROM)
        top_up(session, poisoned.tenant_id, 1_000_00)
        on_default_plan(session, healthy.tenant_id)  # and an empty wallet
    for tenant in (poisoned, healthy):
        response = requests.post(
            f"{live_url}/v1/usage/cdrs",
            json={"records": [cdr(tenant.tenant_id)]},
            headers=admin.headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
    assert [r.status for r in rows(sessions, healthy.tenant_id)] == ["unbilled"]
    with runtime.unit_of_work() as session:
        # The poisoned record as a dead worker left it: pending, a while ago; and the
        # healthy tenant tops up, so the sweep has its unbilled call to settle.
        session.execute(
            update(UsageRecord)
            .where(UsageRecord.tenant_id == poisoned.tenant_id)
            .values(status="pending", reason=None, received_at=utcnow() - timedelta(minutes=5))
        )
        top_up(session, healthy.tenant_id, 1_000_00)
    worker = start_worker(service_env, tmp_path / "worker.log")  # its sweep runs at once
    try:
        billed = eventually(
            lambda: [r.status for r in rows(sessions, healthy.tenant_id)] == ["billed"],
            timeout_s=40,
        )
        assert billed, (tmp_path / "worker.log").read_text()[-3000:]
        (parked,) = rows(sessions, poisoned.tenant_id)
        assert parked.status == "rejected" and parked.reason.startswith("rating_failed: ")
        assert "StoredPlanInvalid: plan POISON-" in parked.reason  # a sentence naming it
        assert [item.kind for item in reviews(sessions, poisoned.tenant_id)] == ["usage_unrateable"]
        retried = requests.post(
            f"{live_url}/v1/usage/retry", json={}, headers=admin.headers, timeout=30
        )
        assert retried.status_code == 200, retried.text
        authorised = requests.post(
            f"{live_url}/v1/authorize",
            json={"tenant_id": poisoned.tenant_id, "service": "voice", "destination": "0712345678"},
            headers=admin.headers,
            timeout=30,
        )
        assert authorised.status_code == 409, authorised.text  # named, never a 500
        assert "POISON-" in authorised.json()["detail"]
    finally:
        stop_worker(worker)
