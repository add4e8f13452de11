"""Invoices as finance uses them: `GET /v1/invoices` with filters and cursor pages, for
staff and for a tenant (its own, never drafts); a top-up names its fiscal receipt; a
period invoiced already is 409 naming its invoice; a draft previews its totals."""

from __future__ import annotations

import pytest

from billing.invoicing import jobs
from billing.tenants.models import BillingMode
from tests.integration.invoicing.conftest import usage
from tests.integration.invoicing.test_render_once import receipt_id, succeeded_topup

pytestmark = pytest.mark.integration
OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-11-01"}
NOVEMBER = {"period_start": "2026-11-01", "period_end": "2026-12-01"}


@pytest.fixture
def books(client, finance, make_tenant, fiscal_runtime, tra):
    """Two postpaid tenants: A with October finalised and November drafted, B with
    October finalised; and a prepaid tenant's top-up receipt."""
    from datetime import UTC, datetime

    tra.start()
    a, b = (make_tenant(billing_mode=BillingMode.POSTPAID) for _ in range(2))
    with fiscal_runtime.unit_of_work() as session:
        for caller in (a, b):
            session.add(usage(caller.tenant_id, net_minor=1_000_00))
        session.add(usage(a.tenant_id, net_minor=2_500_00,
                          at=datetime(2026, 11, 3, 9, tzinfo=UTC)))  # fmt: skip
    made = {}
    for name, caller, period in (("a_oct", a, OCTOBER), ("b_oct", b, OCTOBER)):
        draft = client.post("/v1/invoices", json={"tenant_id": caller.tenant_id, **period},
                            headers=finance.headers).json  # fmt: skip
        made[name] = client.post(f"/v1/invoices/{draft['id']}/finalize", json={},
                                 headers=finance.headers).json  # fmt: skip
    made["a_nov"] = client.post("/v1/invoices", json={"tenant_id": a.tenant_id, **NOVEMBER},
                                headers=finance.headers).json  # fmt: skip
    prepaid = make_tenant()
    topup_id = succeeded_topup(fiscal_runtime, prepaid.tenant_id, amount=11_800_00)
    jobs.topup_receipt(topup_id)
    made["receipt"] = client.get(f"/v1/invoices/{receipt_id(fiscal_runtime, topup_id)}",
                                 headers=finance.headers).json  # fmt: skip
    return a, b, prepaid, topup_id, made


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_staff_filter_by_tenant_kind_status_period_number_and_payment_status(
    client, finance, books
):
    a, b, prepaid, _topup, made = books
    get = lambda query: ids(client.get(f"/v1/invoices?{query}", headers=finance.headers))  # noqa: E731
    assert set(get(f"tenant_id={a.tenant_id}")) == {made["a_oct"]["id"], made["a_nov"]["id"]}
    assert get(f"tenant_id={a.tenant_id}&status=draft") == [made["a_nov"]["id"]]
    assert get(f"tenant_id={a.tenant_id}&period=2026-10") == [made["a_oct"]["id"]]
    assert get(f"number={made['b_oct']['number']}") == [made["b_oct"]["id"]]
    for caller, name in ((a, "a_oct"), (b, "b_oct")):
        unpaid = get(f"payment_status=unpaid&period=2026-10&tenant_id={caller.tenant_id}")
        assert unpaid == [made[name]["id"]]
    paid = get(f"payment_status=paid&tenant_id={prepaid.tenant_id}")
    assert paid == [made["receipt"]["id"]]  # a receipt is paid by its top-up
    assert get(f"tenant_id={prepaid.tenant_id}&source=topup") == [made["receipt"]["id"]]
    assert get(f"tenant_id={a.tenant_id}&kind=credit_note") == []
    bad = client.get("/v1/invoices?period=2026-13&kind=bill", headers=finance.headers)
    assert bad.status_code == 422 and {"period", "kind"} <= set(bad.json["errors"])


def all_pages(client, finance, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/invoices?{query}", headers=finance.headers)
        seen += ids(page)
        cursor = page.json["next_cursor"]
        if cursor is None:
            return seen


def test_cursor_pages_list_every_invoice_once(client, finance, books):
    _a, _b, _prepaid, _topup, made = books
    small, large = all_pages(client, finance, 2), all_pages(client, finance, 200)
    assert small == large and len(small) == len(set(small)) >= 4
    assert {invoice["id"] for invoice in made.values()} <= set(small)


def test_a_tenant_lists_its_own_final_documents_never_drafts_nor_anothers(client, books):
    a, b, _prepaid, _topup, made = books
    assert ids(client.get("/v1/invoices", headers=a.headers)) == [made["a_oct"]["id"]]
    assert ids(client.get("/v1/invoices?status=draft", headers=a.headers)) == []
    other = client.get(f"/v1/invoices?tenant_id={b.tenant_id}", headers=a.headers)
    assert other.status_code == 404 and made["b_oct"]["number"] not in other.get_data(True)


def test_a_top_up_names_its_fiscal_receipt(client, books):
    _a, _b, prepaid, topup_id, made = books
    topup = client.get(f"/v1/topups/{topup_id}", headers=prepaid.headers).json
    assert topup["receipt_id"] == made["receipt"]["id"]
    assert topup["receipt_number"] == made["receipt"]["number"] is not None
    listed = client.get(f"/v1/invoices?topup_id={topup_id}", headers=prepaid.headers).json
    assert [item["number"] for item in listed["items"]] == [topup["receipt_number"]]


def test_a_finalised_period_is_409_naming_its_invoice(client, finance, books):
    a, _b, _prepaid, _topup, made = books
    again = client.post("/v1/invoices", json={"tenant_id": a.tenant_id, **OCTOBER},
                        headers=finance.headers)  # fmt: skip
    assert again.status_code == 409
    assert made["a_oct"]["number"] in again.json["detail"]
    assert made["a_oct"]["id"] in again.json["detail"]
    drafted = client.post("/v1/invoices", json={"tenant_id": a.tenant_id, **NOVEMBER},
                          headers=finance.headers)  # fmt: skip
    assert drafted.status_code == 201 and drafted.json["id"] == made["a_nov"]["id"]


def test_a_draft_previews_its_totals_and_finalise_confirms_them(client, finance, books):
    _a, _b, _prepaid, _topup, made = books
    draft = made["a_nov"]
    assert draft["totals_are_preview"] is True
    assert (draft["net"], draft["vat"], draft["gross"]) == (2_500_00, 450_00, 2_950_00)
    done = client.post(f"/v1/invoices/{draft['id']}/finalize", json={},
                       headers=finance.headers).json  # fmt: skip
    assert done["totals_are_preview"] is False
    assert (done["net"], done["vat"], done["gross"]) == (2_500_00, 450_00, 2_950_00)
    note = client.post(f"/v1/invoices/{done['id']}/credit-notes",
                       json={"reason": "goodwill", "lines": [{"position": 1, "amount": 100_00}]},
                       headers=finance.headers).json  # fmt: skip
    assert (note["net"], note["vat"], note["gross"]) == (-100_00, -18_00, -118_00)
    assert note["totals_are_preview"] is True
