"""An invoice through `billing serve` and a real RQ worker: finalised over HTTP, rendered and
fiscalised by the worker against the sandbox TRA that `billing serve` itself serves."""

from __future__ import annotations

import io
import time

import pytest
import requests
from pypdf import PdfReader

from billing.tenants.models import BillingMode
from tests.e2e.conftest import FISCAL_WAIT_S
from tests.integration.invoicing.conftest import usage
from tests.polling import eventually

pytestmark = pytest.mark.e2e


def test_an_invoice_is_finalised_fiscalised_and_its_pdf_fetched(
    live_url, worker, runtime, make_tenant, finance
):
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.add_all([usage(tenant.tenant_id, net_minor=25_000_00), usage(tenant.tenant_id)])
    draft = requests.post(
        f"{live_url}/v1/invoices",
        json={"tenant_id": tenant.tenant_id, "period_start": "2026-10-01",
              "period_end": "2026-11-01"},
        headers=finance.headers, timeout=30,
    )  # fmt: skip
    assert draft.status_code == 201, draft.text
    invoice_id = draft.json()["id"]
    done = requests.post(
        f"{live_url}/v1/invoices/{invoice_id}/finalize",
        json={},
        headers=finance.headers,
        timeout=30,
    )
    assert done.status_code == 200, done.text
    number = done.json()["number"]

    def fetch(path: str):
        return requests.get(f"{live_url}{path}", headers=tenant.headers, timeout=10)

    pdf = eventually(lambda: (r := fetch(f"/v1/invoices/{invoice_id}/pdf")).ok and r, timeout_s=60)
    assert pdf, "the worker never rendered the PDF"
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert number in text
    fiscal = eventually(
        lambda: (
            (f := fetch(f"/v1/invoices/{invoice_id}").json()["fiscal"])["status"] == "acknowledged"
            and f
        ),
        timeout_s=FISCAL_WAIT_S,
    )
    assert fiscal, fetch(f"/v1/invoices/{invoice_id}").json()["fiscal"]
    assert fiscal["verification_code"] in text
    other = make_tenant()
    answer = requests.get(
        f"{live_url}/v1/invoices/{invoice_id}/pdf", headers=other.headers, timeout=10
    )
    assert answer.status_code == 404


def test_a_top_ups_fiscal_receipt_is_rendered_once_through_the_worker(
    live_url, worker, sessions, make_tenant
):
    """The worker runs fiscalisation and renders on separate queues; the PDF waits for the
    fiscal outcome, so TRA's quick ACK means one render, not a pending one and another."""
    from sqlalchemy import select

    from billing.invoicing.models import Invoice
    from tests.e2e.test_topups_e2e import request_topup

    tenant = make_tenant()
    topup_id = request_topup(live_url, tenant, "0754 321 888", "mpesa")

    def receipt():
        with sessions() as session:
            found = session.execute(select(Invoice).where(Invoice.topup_id == topup_id)).scalar()
            return found if found is not None and found.pdf_has_ack else None

    done = eventually(receipt, timeout_s=FISCAL_WAIT_S)
    assert done, "the top-up's receipt was never rendered with TRA's acknowledgement"
    time.sleep(2)  # a second render, if one were queued, would land by now
    with sessions() as session:
        again = session.get(Invoice, done.id)
        assert again.pdf_version == 1
