"""A postpaid credit limit against the period's usage: accrued by rating, moved by
re-rating, and carried on as what is owed once the invoice is finalised."""

from __future__ import annotations

from datetime import date

import pytest

from billing.invoicing import service
from billing.tariffs.rate_plans import assign_plan
from billing.tariffs.seed import SEED_VALID_FROM, seed_tariffs
from billing.tenants.models import BillingMode
from billing.usage.accruals import exposure
from tests.integration.usage.conftest import cdr
from tests.integration.usage.test_rating import NET, VAT

pytestmark = pytest.mark.integration
LIMIT = 200_00
GROSS = NET + VAT  # 89.48: a 65 s call at 75.83 net, VAT included


@pytest.fixture
def limited(make_tenant, fiscal_runtime):
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with fiscal_runtime.unit_of_work() as session:
        plan = seed_tariffs(session).plan
        assign_plan(
            session, tenant.tenant_id, plan.id, valid_from=SEED_VALID_FROM, credit_limit_minor=LIMIT
        )
    return tenant


def available(client, admin, tenant) -> dict:
    body = {"tenant_id": tenant.tenant_id, "service": "voice", "destination": "0712 345 678"}
    response = client.post("/v1/authorize", json=body, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def send(client, admin, records) -> None:
    response = client.post("/v1/usage/cdrs", json={"records": records}, headers=admin.headers)
    assert response.status_code == 200, response.get_json()


def owed(runtime, tenant) -> tuple[int, int]:
    with runtime.sessions() as session:
        return exposure(session.connection(), tenant.tenant_id, "TZS")


def test_the_limit_shrinks_with_accrued_usage_and_stays_shrunk_once_invoiced(
    fiscal_app, fiscal_runtime, admin, limited, tra
):
    tra.start()
    client = fiscal_app.test_client()
    assert available(client, admin, limited)["available"] == LIMIT
    send(client, admin, [cdr(limited.tenant_id)])
    assert owed(fiscal_runtime, limited) == (NET, 0)
    assert available(client, admin, limited)["available"] == LIMIT - GROSS

    send(client, admin, [cdr(limited.tenant_id), cdr(limited.tenant_id)])
    spent = available(client, admin, limited)  # 3 x 89.48 > 200.00
    assert (spent["available"], spent["allowed"], spent["reason"]) == (
        0, False, "insufficient_balance",
    )  # fmt: skip

    with fiscal_runtime.unit_of_work() as session:
        invoice, _ = service.create_postpaid_draft(
            session, "stf_test", limited.tenant_id, date(2026, 3, 1), date(2026, 4, 1)
        )
        invoice_id = invoice.id
    assert owed(fiscal_runtime, limited) == (3 * NET, 0)  # a draft invoices nothing
    with fiscal_runtime.unit_of_work() as session:
        final = service.finalise(session, fiscal_runtime.settings, "stf_test", invoice_id)
        gross = final.gross_minor
    assert owed(fiscal_runtime, limited) == (0, gross)  # accrued -> receivable
    assert gross == 3 * NET + 40_95  # VAT on the summed lines: 18% of 227.49
    assert available(client, admin, limited)["available"] == 0


def test_re_rating_moves_the_accrued_total_by_the_difference(
    fiscal_app, fiscal_runtime, admin, limited
):
    client = fiscal_app.test_client()
    send(client, admin, [cdr(limited.tenant_id)])
    with fiscal_runtime.unit_of_work() as session:  # a cheaper plan, reaching back
        from tests.integration.usage.test_bundles import bundle_plan

        bundle_plan(session, limited.tenant_id, minutes_s=60)
    body = {"tenant_id": limited.tenant_id, "start": "2026-03-01", "end": "2026-04-01"}
    assert client.post("/v1/usage/rerate", json=body, headers=admin.headers).status_code == 200
    # 60 of the 65 s from the bundle, 5 s charged: 70 x 5 / 60 = 5.8333 -> 5.83
    assert owed(fiscal_runtime, limited) == (5_83, 0)
