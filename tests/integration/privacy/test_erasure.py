"""Erasure: asked by the tenant's admin, approved by an admin once money is settled;
afterwards a search of every table and of the logs finds none of the tenant's personal
data outside the tax documents the law keeps, and its invoices and ledger still add up."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from billing.core.db import make_engine
from billing.ledger.integrity import find_discrepancies
from billing.privacy.erasure import KEPT_PERSONAL_DATA

pytestmark = pytest.mark.integration


def places_holding(owner_url: str, tokens: list[str]) -> dict[str, int]:
    """Every table and column of the schema searched for each token: text as text, bytes
    as bytes; the columns the law keeps (KEPT_PERSONAL_DATA) are searched separately."""
    engine = make_engine(owner_url)
    found: dict[str, int] = {}
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT set_config('malipo.scope', 'system', true)"))
            columns = connection.execute(text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' ORDER BY 1, 2"
            )).all()  # fmt: skip
            for table, column, data_type in columns:
                if data_type == "bytea":
                    test = f"position(convert_to(:t, 'UTF8') in \"{column}\") > 0"
                else:
                    test = f"\"{column}\"::text LIKE '%' || :t || '%'"
                for token in tokens:
                    hits = connection.execute(
                        text(f'SELECT count(*) FROM "{table}" WHERE {test}'), {"t": token}
                    ).scalar_one()
                    if hits:
                        found[f"{table}.{column}"] = found.get(f"{table}.{column}", 0) + hits
    finally:
        engine.dispose()
    return found


def test_erasure_leaves_no_personal_data_but_keeps_the_books(
    client, admin, finance, person, bystander, owner_database_url, sessions, caplog, runtime
):
    caplog.set_level(logging.DEBUG)
    tenant = person.caller
    tokens = [person.values[k] for k in ("name", "email", "street", "msisdn", "payer",
                                         "caller", "callee")]  # fmt: skip
    before = places_holding(owner_database_url, tokens)
    assert {
        "tenants.email",
        "topups.msisdn",
        "usage_records.from_number",
        "usage_records.to_number",
        "callback_inbox.body",
        "review_items.detail",
        "audit_events.detail",
    } <= set(before)  # fmt: skip  (the search finds them)

    asked = client.post(f"/v1/tenants/{tenant.tenant_id}/erasure-requests",
                        json={"note": "closing the business"}, headers=tenant.headers)  # fmt: skip
    assert asked.status_code == 202, asked.get_json()
    erasure_id = asked.get_json()["id"]
    again = client.post(f"/v1/tenants/{tenant.tenant_id}/erasure-requests", json={},
                        headers=tenant.headers)  # fmt: skip
    assert again.status_code == 409
    by_tenant = client.post(f"/v1/erasure-requests/{erasure_id}/approve", json={},
                            headers=tenant.headers)  # fmt: skip
    assert by_tenant.status_code == 403

    # the invoice is unpaid: the receivable is not settled, so approval is refused
    refused = client.post(f"/v1/erasure-requests/{erasure_id}/approve", json={},
                          headers=admin.headers)  # fmt: skip
    assert refused.status_code == 409, refused.get_json()
    assert "receivable" in str(refused.get_json()["errors"]["balance"])
    invoice = client.get(f"/v1/invoices/{person.ids['invoices'][0]}", headers=finance.headers)
    gross = invoice.get_json()["gross"]
    paid = client.post(
        f"/v1/invoices/{person.ids['invoices'][0]}/payments", headers=finance.headers,
        json={"amount": gross, "currency": "TZS", "method": "bank_transfer", "reference": "B-9",
              "received_at": "2026-11-02T10:00:00+03:00"},
    )  # fmt: skip
    assert paid.status_code == 201, paid.get_json()

    approved = client.post(f"/v1/erasure-requests/{erasure_id}/approve", json={},
                           headers=admin.headers)  # fmt: skip
    assert approved.status_code == 202, approved.get_json()
    done = client.get(f"/v1/erasure-requests/{erasure_id}", headers=admin.headers).get_json()
    assert done["status"] == "completed", done
    assert done["report"]["kept"]["invoices"].startswith("tax invoices")
    assert done["report"]["pseudonymised"]["usage_records"] >= 3

    # keys revoked, tenant closed
    assert client.get(f"/v1/tenants/{tenant.tenant_id}", headers=tenant.headers).status_code == 401
    shown = client.get(f"/v1/tenants/{tenant.tenant_id}", headers=admin.headers).get_json()
    assert shown["status"] == "closed" and shown["email"].endswith("@erased.invalid")

    after = places_holding(owner_database_url, tokens)
    allowed = {f"{table}.{column}" for table, cols in KEPT_PERSONAL_DATA.items() for column in cols}
    assert set(after) <= allowed, after
    assert "invoices.parties" in after  # the tax invoice keeps its buyer, as issued
    bystanders = places_holding(owner_database_url, [bystander.tenant_id])
    assert bystanders.get("tenants.id") == 1  # the other tenant is untouched

    # the books still add up: the invoice is whole, the ledger balances
    kept = client.get(f"/v1/invoices/{person.ids['invoices'][0]}", headers=finance.headers)
    assert kept.status_code == 200 and kept.get_json()["gross"] == gross
    with sessions() as session:
        assert find_discrepancies(session) == []
        trail = session.execute(
            text("SELECT action, detail::text FROM audit_events WHERE tenant_id = :t ORDER BY id"),
            {"t": tenant.tenant_id},
        ).all()
    assert [a for a, _ in trail][-1] == "tenant.erased"
    assert not any(token in detail for _, detail in trail for token in tokens)

    # nothing written to the logs during the test names the person
    assert caplog.records
    assert not [token for token in tokens if token in caplog.text]


def test_an_erasure_job_run_twice_changes_nothing_the_second_time(
    client, admin, runtime, make_tenant
):
    tenant = make_tenant()
    asked = client.post(f"/v1/tenants/{tenant.tenant_id}/erasure-requests", json={},
                        headers=tenant.headers).get_json()  # fmt: skip
    assert client.post(f"/v1/erasure-requests/{asked['id']}/approve", json={},
                       headers=admin.headers).status_code == 202  # fmt: skip
    from billing.privacy.erasure import erase

    with runtime.unit_of_work() as session:
        assert erase(session, asked["id"], "k") is None  # completed: nothing to do


def test_another_tenant_cannot_see_or_decide_an_erasure_request(client, make_tenant, admin):
    victim, intruder = make_tenant(), make_tenant()
    asked = client.post(f"/v1/tenants/{victim.tenant_id}/erasure-requests", json={},
                        headers=victim.headers).get_json()  # fmt: skip
    assert client.get(f"/v1/erasure-requests/{asked['id']}",
                      headers=intruder.headers).status_code == 404  # fmt: skip
    assert client.post(f"/v1/tenants/{victim.tenant_id}/erasure-requests", json={},
                       headers=intruder.headers).status_code == 404  # fmt: skip
    rejected = client.post(f"/v1/erasure-requests/{asked['id']}/reject",
                           json={"note": "balance in dispute"}, headers=admin.headers)  # fmt: skip
    assert rejected.get_json()["status"] == "rejected"
