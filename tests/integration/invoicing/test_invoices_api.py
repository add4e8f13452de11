"""/v1/invoices, credit notes and invoice runs over HTTP: roles, tenancy, bad input."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from billing.audit.models import AuditEvent
from billing.core.money import Currency
from billing.invoicing.models import Invoice
from billing.ledger.balances import account_balance
from billing.ledger.postings import RECEIVABLE, USAGE_REVENUE, VAT_PAYABLE
from billing.tenants.models import BillingMode
from tests.integration.invoicing.conftest import usage

pytestmark = pytest.mark.integration
PERIOD = {"period_start": "2026-10-01", "period_end": "2026-11-01"}


@pytest.fixture
def postpaid(make_tenant, fiscal_runtime):
    def make(currency=Currency.TZS, amounts=(12_345_67, 2_000_00)):
        tenant = make_tenant(currency=currency, billing_mode=BillingMode.POSTPAID)
        with fiscal_runtime.unit_of_work() as session:
            session.add_all(
                usage(tenant.tenant_id, net_minor=a, currency=currency.value,
                      service="voice" if n % 2 == 0 else "sms",
                      unit="second" if n % 2 == 0 else "segment")
                for n, a in enumerate(amounts)
            )  # fmt: skip
        return tenant

    return make


def draft(client, finance, tenant) -> dict:
    response = client.post(
        "/v1/invoices", json={"tenant_id": tenant.tenant_id, **PERIOD}, headers=finance.headers
    )
    assert response.status_code == 201, response.json
    return response.json


def finalize(client, finance, invoice_id: str, body: dict | None = None):
    return client.post(
        f"/v1/invoices/{invoice_id}/finalize", json=body or {}, headers=finance.headers
    )


def test_finance_drafts_from_rated_usage_and_finalises(client, finance, postpaid, tra):
    tra.start()
    tenant = postpaid()
    made = draft(client, finance, tenant)
    assert made["status"] == "draft" and made["number"] is None
    assert [line["amount"] for line in made["lines"]] == [2_000_00, 12_345_67]  # sms, voice
    assert draft(client, finance, tenant)["id"] == made["id"]  # once per (tenant, period)
    done = finalize(client, finance, made["id"])
    assert done.status_code == 200, done.json
    invoice = client.get(f"/v1/invoices/{made['id']}", headers=tenant.headers).json
    assert invoice["number"].startswith("INV-")
    assert invoice["net"] == 14_345_67
    assert invoice["vat"] == 2_582_22  # 18%, rounded once on the sum
    assert invoice["gross"] == invoice["net"] + invoice["vat"]
    assert invoice["fiscal"]["status"] == "acknowledged"
    assert (
        invoice["fiscal"]["verification_code"]
        == f"{tra.state.receipt_code}{invoice['fiscal']['gc']}"
    )
    pdf = client.get(f"/v1/invoices/{made['id']}/pdf", headers=tenant.headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for field in (invoice["number"], "100-000-001", invoice["fiscal"]["verification_code"]):
        assert field in text


def test_issued_documents_put_their_vat_on_the_books(
    client, finance, postpaid, tra, fiscal_runtime
):
    tra.start()
    tenant = postpaid()
    made = draft(client, finance, tenant)
    invoice = finalize(client, finance, made["id"]).json

    def books() -> dict[str, int]:
        with fiscal_runtime.sessions() as session:
            return {
                kind: account_balance(session, tenant.tenant_id, kind, "TZS").balance_minor
                for kind in (RECEIVABLE, USAGE_REVENUE, VAT_PAYABLE)
            }

    owed = {RECEIVABLE: -invoice["gross"], USAGE_REVENUE: invoice["net"], VAT_PAYABLE: 2_582_22}
    assert books() == owed
    note = client.post(
        f"/v1/invoices/{made['id']}/credit-notes",
        json={"reason": "SMS billed twice", "lines": [{"position": 1, "amount": 500_00}]},
        headers=finance.headers,
    ).json
    assert finalize(client, finance, note["id"]).status_code == 200
    assert books() == {
        RECEIVABLE: owed[RECEIVABLE] + 590_00,
        USAGE_REVENUE: owed[USAGE_REVENUE] - 500_00,
        VAT_PAYABLE: owed[VAT_PAYABLE] - 90_00,
    }


def test_a_usd_invoice_needs_the_rate_and_its_source(client, finance, postpaid, tra):
    tra.start()
    made = draft(client, finance, postpaid(currency=Currency.USD, amounts=(100_00,)))
    refused = finalize(client, finance, made["id"])
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert "exchange_rate" in refused.json["errors"]
    bad = finalize(client, finance, made["id"], {"exchange_rate": {"tzs_per_unit": "-1"}})
    assert bad.status_code == 422
    assert bad.json["errors"].keys() == {"exchange_rate.source", "exchange_rate.tzs_per_unit"}
    rate = {"tzs_per_unit": "2650.50", "source": "Bank of Tanzania"}
    done = finalize(client, finance, made["id"], {"exchange_rate": rate})
    assert done.status_code == 200, done.json
    assert done.json["exchange_rate"] == "2650.500000"
    assert done.json["rate_source"] == "Bank of Tanzania"
    assert done.json["gross"] == 118_00
    with client.application.extensions["malipo"].sessions() as session:
        body = session.get(Invoice, made["id"]).receipt_body
    assert b"<TOTALTAXINCL>312759.00</TOTALTAXINCL>" in body  # TZS on the fiscal receipt


def test_a_credit_note_references_the_original_and_cannot_exceed_it(
    client, finance, postpaid, tra, fiscal_runtime
):
    tra.start()
    made = draft(client, finance, postpaid())
    assert finalize(client, finance, made["id"]).status_code == 200
    url = f"/v1/invoices/{made['id']}/credit-notes"
    too_much = client.post(
        url, json={"reason": "overbilled", "lines": [{"position": 1, "amount": 2_000_01}]},
        headers=finance.headers,
    )  # fmt: skip
    assert too_much.status_code == 422 and "lines" in too_much.json["errors"]
    assert client.post(url, json={}, headers=finance.headers).json["errors"].keys() == {"reason"}
    note = client.post(
        url, json={"reason": "SMS billed twice on 5 October",
                   "lines": [{"position": 1, "amount": 500_00}]},
        headers=finance.headers,
    ).json  # fmt: skip
    assert note["kind"] == "credit_note" and note["original_invoice_id"] == made["id"]
    issued = finalize(client, finance, note["id"]).json
    assert issued["number"].startswith("CN-")
    assert issued["gross"] == -590_00 and issued["vat"] == -90_00
    assert issued["fiscal"]["status"] == "not_fiscalised"
    assert issued["reason"] == "SMS billed twice on 5 October"
    with fiscal_runtime.sessions() as session:
        trail = session.execute(
            select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.subject_id == note["id"])
        ).all()
    assert trail[:2] == [("credit_note.draft_created", trail[0][1]),
                         ("invoice.finalised", trail[0][1])]  # fmt: skip
    assert trail[0][1].startswith("stf_")  # the finance user, by id
    assert trail[2:] == [("invoice.original_issued", "system"),  # the e-mail is the original
                         ("invoice.delivered", "system")]  # e-mailed, by the job  # fmt: skip
    rest = client.post(
        url, json={"reason": "the rest", "lines": [{"position": 1, "amount": 1_500_01}]},
        headers=finance.headers,
    )  # fmt: skip
    assert rest.status_code == 422  # 500.00 of 2,000.00 credited already
    pdf = client.get(f"/v1/invoices/{note['id']}/pdf", headers=finance.headers)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert made["id"] != note["id"]
    assert client.get(f"/v1/invoices/{made['id']}", headers=finance.headers).json["number"] in text
    assert "SMS billed twice on 5 October" in " ".join(text.split())


def test_a_draft_may_be_voided_a_finalised_invoice_never(client, finance, postpaid, tra):
    tra.start()
    first, second = postpaid(), postpaid()
    voided = draft(client, finance, first)
    answer = client.post(f"/v1/invoices/{voided['id']}/void", headers=finance.headers)
    assert answer.status_code == 200 and answer.json["status"] == "void"
    assert finalize(client, finance, voided["id"]).status_code == 409
    assert client.get(f"/v1/invoices/{voided['id']}", headers=first.headers).status_code == 404
    redrafted = draft(client, finance, first)  # the period is free again, once
    assert redrafted["id"] != voided["id"] and redrafted["status"] == "draft"
    again = client.post("/v1/invoices", json={"tenant_id": first.tenant_id, **PERIOD},
                        headers=finance.headers)  # fmt: skip
    assert again.status_code == 201 and again.json["id"] == redrafted["id"]
    made = draft(client, finance, second)
    finalize(client, finance, made["id"])
    refused = client.post(f"/v1/invoices/{made['id']}/void", headers=finance.headers)
    assert refused.status_code == 409
    assert "credit note" in refused.json["detail"]
    assert (
        client.get(f"/v1/invoices/{made['id']}", headers=finance.headers).json["status"] != "void"
    )


def test_credit_notes_need_a_finalised_invoice(client, finance, postpaid):
    made = draft(client, finance, postpaid())
    response = client.post(
        f"/v1/invoices/{made['id']}/credit-notes", json={"reason": "x"}, headers=finance.headers
    )
    assert response.status_code == 409


def test_tenants_see_only_their_own_final_invoices(client, finance, admin, postpaid, tra):
    tra.start()
    owner, other = postpaid(), postpaid()
    made = draft(client, finance, owner)
    for path in (f"/v1/invoices/{made['id']}", f"/v1/invoices/{made['id']}/pdf"):
        assert client.get(path, headers=owner.headers).status_code == 404  # a draft
    finalize(client, finance, made["id"])
    for path in (f"/v1/invoices/{made['id']}", f"/v1/invoices/{made['id']}/pdf"):
        assert client.get(path, headers=owner.headers).status_code == 200
        assert client.get(path, headers=other.headers).status_code == 404
        assert client.get(path, headers=finance.headers).status_code == 200
        assert client.get(path, headers=admin.headers).status_code == 200
        assert client.get(path).status_code == 401
    writes = [
        ("/v1/invoices", {"tenant_id": owner.tenant_id, **PERIOD}),
        (f"/v1/invoices/{made['id']}/finalize", {}),
        (f"/v1/invoices/{made['id']}/credit-notes", {"reason": "x"}),
        ("/v1/invoice-runs", PERIOD),
    ]
    for path, body in writes:
        assert client.post(path, json=body, headers=owner.headers).status_code == 403
        assert client.post(path, json=body, headers=admin.headers).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period_start": "2026-10-01", "period_end": "2026-11-01"}, "tenant_id"),
        ({"tenant_id": "ten_x", "period_start": "2026-13-01", "period_end": "2026-11-01"},
         "period_start"),
        ({"tenant_id": "ten_x", "period_start": "2026-11-01", "period_end": "2026-10-01"},
         "period_end"),
        ({"tenant_id": "ten_nobody", **PERIOD}, "tenant_id"),
    ],
)  # fmt: skip
def test_bad_drafts_are_problems_naming_the_field(client, finance, body, field):
    response = client.post("/v1/invoices", json=body, headers=finance.headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


def test_a_prepaid_tenant_gets_no_postpaid_draft(client, finance, make_tenant):
    tenant = make_tenant()
    response = client.post(
        "/v1/invoices", json={"tenant_id": tenant.tenant_id, **PERIOD}, headers=finance.headers
    )
    assert response.status_code == 422 and "tenant_id" in response.json["errors"]


def test_an_invoice_run_is_idempotent_per_tenant_and_period(
    client, finance, postpaid, fiscal_runtime
):
    tenants = [postpaid() for _ in range(3)]
    first = client.post("/v1/invoice-runs", json=PERIOD, headers=finance.headers)
    assert first.status_code == 201, first.json
    ours = {t.tenant_id for t in tenants}
    with fiscal_runtime.sessions() as session:
        made = dict(
            session.execute(
                select(Invoice.tenant_id, func.count())
                .where(Invoice.tenant_id.in_(ours))
                .group_by(Invoice.tenant_id)
            ).all()
        )
    assert made == {t: 1 for t in ours}
    again = client.post("/v1/invoice-runs", json=PERIOD, headers=finance.headers).json
    assert again["created"] == []
    assert set(first.json["created"]) <= set(again["existing"])
    bad = client.post(
        "/v1/invoice-runs", json={"period_start": "2026-10-01"}, headers=finance.headers
    )
    assert bad.status_code == 422 and "period_end" in bad.json["errors"]


def test_racing_credit_notes_never_credit_more_than_the_invoice(
    fiscal_app, fiscal_runtime, finance, postpaid, tra
):
    import threading

    tra.start()
    client = fiscal_app.test_client()
    made = draft(client, finance, postpaid())
    finalize(client, finance, made["id"])
    barrier, answers = threading.Barrier(4), []

    def credit_everything() -> None:
        barrier.wait()
        answer = fiscal_app.test_client().post(
            f"/v1/invoices/{made['id']}/credit-notes", json={"reason": "cancelled"},
            headers=finance.headers,
        )  # fmt: skip
        answers.append(answer.status_code)

    threads = [threading.Thread(target=credit_everything) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [201, 422, 422, 422]
    with fiscal_runtime.sessions() as session:
        notes = session.execute(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.original_invoice_id == made["id"])
        ).scalar_one()
    assert notes == 1


def test_a_replayed_credit_note_request_makes_one_note(client, finance, postpaid, tra):
    tra.start()
    made = draft(client, finance, postpaid())
    finalize(client, finance, made["id"])
    url = f"/v1/invoices/{made['id']}/credit-notes"
    body = {"reason": "goodwill", "lines": [{"position": 2, "amount": 100_00}]}
    headers = {**finance.headers, "Idempotency-Key": "cn-goodwill-1"}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = client.post(url, json={**body, "reason": "other"}, headers=headers)
    assert other.status_code == 422  # the same key with another body


def pdf_text(client, caller, invoice_id: str) -> str:
    pdf = client.get(f"/v1/invoices/{invoice_id}/pdf", headers=caller.headers)
    assert pdf.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    return " ".join(text.split())


def test_a_swahili_tenants_invoice_and_credit_note_print_in_swahili_with_its_address(
    client, finance, admin, postpaid, tra
):
    tra.start()
    tenant = postpaid()
    address = {"street": "Plot 5, Mikocheni", "po_box": "1234", "city": "Dar es Salaam",
               "language": "sw"}  # fmt: skip
    patched = client.patch(f"/v1/tenants/{tenant.tenant_id}", json=address, headers=admin.headers)
    assert patched.status_code == 200
    made = draft(client, finance, tenant)
    finalize(client, finance, made["id"])
    done = client.get(f"/v1/invoices/{made['id']}", headers=finance.headers).json
    assert done["fiscal"]["status"] == "acknowledged"  # so the PDF was rendered after ACK
    text = pdf_text(client, tenant, made["id"])
    for words in ("Ankara ya kodi".upper(), "MNUNUZI", "Maelezo", "MUHTASARI WA VAT",
                  "RISITI YA KODI YA VFD", "Plot 5, Mikocheni, P.O. Box 1234, Dar es Salaam, "
                  "Tanzania", done["number"], "Ukurasa 1 wa 2"):  # fmt: skip
        assert words in text, words
    assert "Description" not in text and "CUSTOMER" not in text
    client.patch(f"/v1/tenants/{tenant.tenant_id}", json={"language": "en", "city": "Moshi"},
                 headers=admin.headers)  # fmt: skip
    note = client.post(f"/v1/invoices/{made['id']}/credit-notes", json={"reason": "kosa"},
                       headers=finance.headers).json  # fmt: skip
    finalize(client, finance, note["id"])
    note_text = pdf_text(client, finance, note["id"])
    assert "Description" in note_text and "P.O. Box 1234, Moshi, Tanzania" in note_text
    again = pdf_text(client, finance, made["id"])  # the invoice keeps what it was issued with
    assert "MNUNUZI" in again and "Dar es Salaam, Tanzania" in again


def test_usage_unit_prices_print_with_sensible_decimals(
    client, finance, make_tenant, fiscal_runtime, tra
):
    tra.start()
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    rated = [
        ("sms", "TZ-MOB-VODACOM", 1_000, 15_00),  # TZS 0.015 a segment
        ("sms", "KE-MOB", 3, 1_00),  # 1/3 shilling: finer than any plan
        ("whatsapp", "TZ-MOB-AIRTEL", 1_000_000, 1),
    ]  # the plan's finest: 0.00000001
    with fiscal_runtime.unit_of_work() as session:
        session.add_all(
            usage(tenant.tenant_id, service=service, zone=zone, unit="segment",
                  billed_units=units, net_minor=net)
            for service, zone, units, net in rated
        )  # fmt: skip
    made = draft(client, finance, tenant)
    assert {line["description"]: line["unit_price"] for line in made["lines"]} == {
        "SMS, KE-MOB": "0.3333333333",  # the API gives the exact stored price
        "SMS, TZ-MOB-VODACOM": "0.015",
        "WhatsApp messages, TZ-MOB-AIRTEL": "0.00000001",
    }
    finalize(client, finance, made["id"])
    text = pdf_text(client, finance, made["id"])
    assert "SMS to Vodacom mobile 1,000 segments 0.015 A 15.00" in text
    assert "SMS to KE-MOB 3 segments 0.3333 A 1.00" in text  # rounded at 4 decimals
    assert "WhatsApp messages to Airtel mobile 1,000,000 segments 0.00000001 A 0.01" in text
    assert "0000000" not in text.replace("0.00000001", "")
