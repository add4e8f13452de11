"""Usage tests: tenants on the standard tariff, CDRs sent through the API."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from billing.tenants.models import BillingMode
from billing.usage.models import UsageRecord
from tests.factories import on_default_plan, top_up


def cdr(tenant_id: str, **fields) -> dict:
    """A 65 s answered call to a Yas mobile on a Monday at 09:00 (peak): TZS 75.83 net."""
    record = {
        "source_id": uuid.uuid4().hex,
        "tenant_id": tenant_id,
        "caller": "255754000111",
        "callee": "0712 345 678",
        "started_at": "2026-03-02T09:00:00+03:00",
        "answered_at": "2026-03-02T09:00:05+03:00",
        "duration_s": 70,
        "billsec_s": 65,
        "disposition": "ANSWERED",
    }
    record.update(fields)
    return record


def send(client, caller, records: list, path: str = "/v1/usage/cdrs") -> dict:
    response = client.post(path, json={"records": records}, headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rows(sessions, tenant_id: str) -> list[UsageRecord]:
    with sessions() as session:
        return list(
            session.execute(
                select(UsageRecord)
                .where(UsageRecord.tenant_id == tenant_id)
                .order_by(UsageRecord.id)
            ).scalars()
        )


@pytest.fixture
def rated_tenant(runtime, make_tenant):
    """A prepaid TZS tenant on the standard plan, with TZS 1,000.00 in the wallet."""

    def make(balance: int = 1_000_00, billing_mode: BillingMode = BillingMode.PREPAID):
        caller = make_tenant(billing_mode=billing_mode)
        with runtime.unit_of_work() as session:
            on_default_plan(session, caller.tenant_id)
            if balance:
                top_up(session, caller.tenant_id, balance)
        return caller

    return make
