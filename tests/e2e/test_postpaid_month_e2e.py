"""A postpaid tenant's months through `billing serve` and a real RQ worker: calls posted
over HTTP, October invoiced and paid, a late October call and a credit note after the
payment, both settled on November's invoice."""

from __future__ import annotations

import pytest
import requests

from billing.tenants.models import BillingMode
from tests.e2e.conftest import FISCAL_WAIT_S
from tests.factories import on_default_plan
from tests.integration.usage.conftest import cdr
from tests.polling import eventually

pytestmark = pytest.mark.e2e
OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-11-01"}
NOVEMBER = {"period_start": "2026-11-01", "period_end": "2026-12-01"}


def call(day: str) -> dict:
    """A 65 s call to a Yas mobile at 09:00 on a weekday (peak)."""
    return {"started_at": f"{day}T09:00:00+03:00", "answered_at": f"{day}T09:00:05+03:00"}


def test_late_usage_and_credit_after_payment_land_on_the_next_invoice(
    live_url, worker, runtime, make_tenant, admin, finance
):
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        on_default_plan(session, tenant.tenant_id)

    def http(verb: str, path: str, caller=finance, /, **body) -> dict:
        response = requests.request(
            verb, f"{live_url}{path}", json=body or None, headers=caller.headers, timeout=30
        )
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()

    def post_calls(*days: str) -> None:
        records = [cdr(tenant.tenant_id, **call(day)) for day in days]
        sent = http("POST", "/v1/usage/cdrs", admin, records=records)
        assert [r["status"] for r in sent["results"]] == ["accepted"] * len(days), sent

    post_calls("2026-10-05", "2026-10-06")
    october = http("POST", "/v1/invoices", tenant_id=tenant.tenant_id, **OCTOBER)
    october = http("POST", f"/v1/invoices/{october['id']}/finalize")
    one_call = october["net"] // 2
    paid = http("POST", f"/v1/invoices/{october['id']}/payments", amount=october["gross"],
                currency="TZS", method="bank_transfer", reference=f"CRDB-{october['id']}",
                received_at="2026-11-10T10:00:00+03:00")  # fmt: skip
    assert paid["amount_due"] == 0

    post_calls("2026-10-30", "2026-11-03")  # one late for October, one in November
    twice = [{"position": 1, "amount": one_call}]
    note = http("POST", f"/v1/invoices/{october['id']}/credit-notes", reason="twice", lines=twice)
    note = http("POST", f"/v1/invoices/{note['id']}/finalize")
    held = -http("GET", f"/v1/invoices/{october['id']}/credits")["amount_due"]
    assert held == -note["gross"] > 0

    november = http("POST", "/v1/invoices", tenant_id=tenant.tenant_id, **NOVEMBER)
    descriptions = [line["description"] for line in november["lines"]]
    assert any(d.startswith("Late usage of 2026-10") for d in descriptions), descriptions
    assert sum(line["amount"] for line in november["lines"]) == 2 * one_call
    november = http("POST", f"/v1/invoices/{november['id']}/finalize")
    assert (november["credit_applied"], november["payment_status"]) == (held, "partly_paid")
    due = http("GET", f"/v1/invoices/{november['id']}/payments", tenant)["amount_due"]
    assert due == november["gross"] - held

    def acknowledged() -> bool:
        seen = http("GET", f"/v1/invoices/{november['id']}", tenant)
        return seen["fiscal"]["status"] == "acknowledged" and seen["pdf_ready"]

    assert eventually(acknowledged, timeout_s=FISCAL_WAIT_S), "the worker never fiscalised November"
