"""Rectification (a tenant admin corrects its profile; issued documents keep theirs) and
restriction (kept, not processed: authorise, rating and top-ups refuse with the reason)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.tariffs.standings import forget_standings
from tests.factories import on_default_plan, top_up

pytestmark = pytest.mark.integration


def test_a_tenant_admin_corrects_its_profile_and_issued_invoices_keep_theirs(
    client, person, finance, sessions
):
    tenant = person.caller
    fixed = client.patch(f"/v1/tenants/{tenant.tenant_id}", headers=tenant.headers, json={
        "name": "Duka la Mama Ltd", "email": "accounts@duka.co.tz", "msisdn": "0754000222",
        "tin": "123-456-789", "vrn": "40012345K",
    })  # fmt: skip
    assert fixed.status_code == 200, fixed.get_json()
    shown = fixed.get_json()
    assert (shown["name"], shown["msisdn"], shown["tin"]) == (
        "Duka la Mama Ltd", "255754000222", "123-456-789",
    )  # fmt: skip
    invoice = client.get(f"/v1/invoices/{person.ids['invoices'][0]}", headers=finance.headers)
    with sessions() as session:
        parties = session.execute(
            text("SELECT parties::text FROM invoices WHERE id = :i"),
            {"i": person.ids["invoices"][0]},
        ).scalar_one()
    assert invoice.status_code == 200
    assert person.values["name"] in parties and "123456789" not in parties
    bad = client.patch(f"/v1/tenants/{tenant.tenant_id}", headers=tenant.headers,
                       json={"email": "not-an-email"})  # fmt: skip
    assert bad.status_code in (400, 422) and "email" in bad.get_json()["errors"]


def test_a_restricted_tenant_is_kept_but_not_processed(client, admin, make_tenant, runtime):
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        on_default_plan(session, tenant.tenant_id)
        top_up(session, tenant.tenant_id, 10_000_00)
    ask = {
        "tenant_id": tenant.tenant_id,
        "service": "voice",
        "destination": "255754000111",
        "reserve": False,
    }  # a question: no hold on the wallet
    assert client.post("/v1/authorize", json=ask, headers=admin.headers).get_json()["allowed"]

    restricted = client.put(f"/v1/tenants/{tenant.tenant_id}/restriction",
                            json={"reason": "objection pending"},
                            headers=tenant.headers)  # fmt: skip
    assert restricted.status_code == 200 and restricted.get_json()["restricted_at"]
    forget_standings()
    answer = client.post("/v1/authorize", json=ask, headers=admin.headers).get_json()
    assert answer["allowed"] is False and answer["reason"] == "processing_restricted"
    topup = client.post("/v1/topups", json={"amount": 1000_00, "currency": "TZS"},
                        headers=tenant.headers)  # fmt: skip
    assert topup.status_code == 409 and "restricted" in topup.get_json()["detail"]
    cdr = {"source_id": "r-1", "tenant_id": tenant.tenant_id, "caller": "255754000001",
           "callee": "255754000111", "started_at": "2026-11-20T10:00:00Z", "duration_s": 60,
           "billsec_s": 60, "disposition": "ANSWERED"}  # fmt: skip
    sent = client.post("/v1/usage/cdrs", json={"records": [cdr]}, headers=admin.headers)
    assert sent.status_code == 200, sent.get_json()
    listed = client.get(f"/v1/usage?tenant_id={tenant.tenant_id}&status=rejected",
                        headers=admin.headers).get_json()  # fmt: skip
    assert [item["reason"] for item in listed["items"]] == ["processing_restricted"]
    # the data is kept: the tenant still reads its own record
    assert client.get(f"/v1/tenants/{tenant.tenant_id}", headers=tenant.headers).status_code == 200

    lifted = client.delete(f"/v1/tenants/{tenant.tenant_id}/restriction", headers=tenant.headers)
    assert lifted.status_code == 200 and lifted.get_json()["restricted_at"] is None
    again = client.post("/v1/authorize", json=ask, headers=admin.headers).get_json()
    assert again["allowed"], again
