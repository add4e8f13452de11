"""One tenant's poison (a plan priced beyond any charge, a rating that raises) is parked
with its reason and a review item; every other tenant's usage is still billed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from billing.core.clock import utcnow
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import SEED_VALID_FROM, default_plan_definition, seed_tariffs
from billing.topups.models import ReviewItem
from billing.usage import rating
from billing.usage.jobs import retry
from billing.usage.models import UsageRecord
from tests.factories import top_up
from tests.integration.usage.conftest import cdr, rows, send

pytestmark = pytest.mark.integration


def poison_plan(session, rate: str = "1E+28") -> str:
    """A plan whose voice rates overflow every charge, saved past the API's checks."""
    definition = default_plan_definition()
    for entry in definition["duration_rates"]:
        entry["rate"] = Decimal(rate)
    seed_tariffs(session)
    code = f"POISON-{uuid.uuid4().hex[:8]}"
    return save_plan(session, code, "poison", definition, valid_from=SEED_VALID_FROM).plan.id


@pytest.fixture
def poisoned(runtime, make_tenant):
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        assign_plan(session, tenant.tenant_id, poison_plan(session), valid_from=SEED_VALID_FROM)
        top_up(session, tenant.tenant_id, 1_000_00)
    return tenant


def reviews(sessions, tenant_id: str) -> list[ReviewItem]:
    with sessions() as session:
        query = select(ReviewItem).where(ReviewItem.tenant_id == tenant_id)
        return list(session.execute(query).scalars())


def test_a_price_beyond_range_parks_the_record_and_bills_the_others(
    client, admin, poisoned, rated_tenant, sessions
):
    healthy = rated_tenant()
    batch = [cdr(poisoned.tenant_id), cdr(healthy.tenant_id), cdr(poisoned.tenant_id)]
    send(client, admin, batch)
    assert [r.status for r in rows(sessions, healthy.tenant_id)] == ["billed"]
    parked = rows(sessions, poisoned.tenant_id)
    assert [r.status for r in parked] == ["rejected", "rejected"]
    reason = parked[0].reason
    # 1E+28 is outside today's bounds for a stored plan too: it is not even read (a plan
    # inside them that still prices past the ceiling is `price_out_of_range`: test_rater).
    assert reason.startswith("rating_failed: ") and "StoredPlanInvalid: plan POISON-" in reason
    assert "correct the plan" in reason
    send(client, admin, [cdr(poisoned.tenant_id)])  # a second one: still one review item
    (item,) = reviews(sessions, poisoned.tenant_id)
    assert (item.kind, item.status) == ("usage_unrateable", "open")
    assert "POISON-" in item.summary and item.detail["usage_ids"]
    assert client.post("/v1/usage/retry", json={}, headers=admin.headers).status_code == 200
    assert [r.status for r in rows(sessions, poisoned.tenant_id)] == ["rejected"] * 3


def test_authorize_refuses_a_first_charge_beyond_range(client, admin, runtime, make_tenant):
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        assign_plan(session, tenant.tenant_id, poison_plan(session, "1E+20"), SEED_VALID_FROM)
        top_up(session, tenant.tenant_id, 1_000_00)
    response = client.post(
        "/v1/authorize",
        json={"tenant_id": tenant.tenant_id, "service": "voice", "destination": "0712345678"},
        headers=admin.headers,
    )
    # The stored plan is beyond today's bounds: a clear 409 naming it, never a 500 nor a
    # first charge past int64.
    assert response.status_code == 409, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "POISON-" in response.get_json()["detail"]


@pytest.fixture
def raising_for(monkeypatch):
    """Rating raises for one tenant's rows (a fault no check foresaw); asserts it landed."""
    hits: list[int] = []
    original = rating.price

    def install(tenant_id: str) -> list[int]:
        def price(row, tenant, *args, **kwargs):
            if tenant is not None and tenant.id == tenant_id:
                hits.append(row.id)
                raise ArithmeticError("planted: rating this tenant fails")
            return original(row, tenant, *args, **kwargs)

        monkeypatch.setattr(rating, "price", price)
        return hits

    return install


def test_a_rating_that_raises_parks_one_tenant_and_the_job_bills_the_rest(
    client, admin, make_tenant, rated_tenant, raising_for, sessions
):
    bad, healthy = rated_tenant(), rated_tenant()
    hits = raising_for(bad.tenant_id)
    send(client, admin, [cdr(bad.tenant_id), cdr(healthy.tenant_id)])
    assert hits  # the fault landed (at intake, then in the usage.rate job)
    assert [r.status for r in rows(sessions, healthy.tenant_id)] == ["billed"]
    (parked,) = rows(sessions, bad.tenant_id)
    assert parked.status == "rejected" and parked.reason.startswith("rating_failed: ")
    assert "planted" in parked.reason
    assert [i.kind for i in reviews(sessions, bad.tenant_id)] == ["usage_unrateable"]


def test_the_retry_sweep_goes_tenant_by_tenant(
    app, client, admin, rated_tenant, raising_for, runtime, sessions
):
    bad, broke = rated_tenant(), rated_tenant(balance=0)
    send(client, admin, [cdr(bad.tenant_id), cdr(broke.tenant_id)])
    assert [r.status for r in rows(sessions, broke.tenant_id)] == ["unbilled"]
    with runtime.unit_of_work() as session:  # bad's record left pending by a dead worker
        session.execute(
            update(UsageRecord)
            .where(UsageRecord.tenant_id == bad.tenant_id)
            .values(status="pending", received_at=utcnow() - timedelta(minutes=5))
        )
        top_up(session, broke.tenant_id, 1_000_00)
    hits = raising_for(bad.tenant_id)
    with app.app_context():
        counts = retry()
    assert hits and counts.get("unbilled→billed", 0) >= 1
    assert [r.status for r in rows(sessions, broke.tenant_id)] == ["billed"]
    assert rows(sessions, bad.tenant_id)[0].reason.startswith("rating_failed: ")
    assert client.post("/v1/usage/retry", json={}, headers=admin.headers).status_code == 200
