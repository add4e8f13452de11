"""The documents as a Tanzanian accountant reads them, made through the service and read
back from the PDF's text; each page is also written as a picture to
tests/artifacts/documents/ (git-ignored) for a person to look at.

Issue 19: credit notes say plainly they are adjustment notes not sent to the VFD and
read as what was credited; Swahili documents name lines and zones in Swahili; page 1
says the period, the due date and how to pay (bank, mobile-money pay number, the
invoice number as reference); the annex is in EAT with human durations; a top-up's
receipt is a receipt with its payment method and operator reference; one original,
every later rendering or download a COPY; unit prices with sensible decimals.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from billing import create_app
from billing.invoicing import jobs
from billing.invoicing.models import Invoice
from billing.runtime import EXTENSION
from billing.tenants.models import BillingMode, Language, Tenant
from tests.integration.invoicing.conftest import usage
from tests.integration.invoicing.test_render_once import receipt_id, succeeded_topup

pytestmark = pytest.mark.integration
ARTEFACTS = Path(__file__).parents[2] / "artifacts" / "documents"
PERIOD = {"period_start": "2026-10-01", "period_end": "2026-11-01"}


def text_of(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def picture(pdf: bytes, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(pdf)
    for number in range(len(document)):
        image = document[number].render(scale=1.5).to_pil()
        image.save(ARTEFACTS / f"{name}-page{number + 1}.png")


def swahili_tenant(make_tenant, runtime, *, terms: int = 14):
    caller = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        tenant = session.get(Tenant, caller.tenant_id)
        tenant.language, tenant.tin, tenant.vrn = Language.SW, "123456789", "40012345K"
        tenant.street, tenant.po_box, tenant.city = "Mtaa wa Uhuru 5", "4410", "Mwanza"
        tenant.payment_terms_days = terms
        session.add_all([
            # 9 minutes to Yas at 60.00 a minute, three calls on 5 October 23:50 UTC (EAT 02:50)
            *(usage(caller.tenant_id, zone="TZ-MOB-YAS", billed_units=180, net_minor=180_00,
                    at=datetime(2026, 10, 5, 23, 50 - n, tzinfo=UTC)) for n in range(3)),
            usage(caller.tenant_id, service="sms", zone="INT-KE-MOB", unit="segment",
                  billed_units=7, net_minor=1_050_00, to_number="254722000111"),
        ])  # fmt: skip
    return caller


def finalised(client, finance, tenant) -> dict:
    made = client.post("/v1/invoices", json={"tenant_id": tenant.tenant_id, **PERIOD},
                       headers=finance.headers).json  # fmt: skip
    done = client.post(f"/v1/invoices/{made['id']}/finalize", json={}, headers=finance.headers)
    assert done.status_code == 200, done.json
    return done.json


def download(client, caller, invoice_id: str):
    response = client.get(f"/v1/invoices/{invoice_id}/pdf", headers=caller.headers)
    assert response.status_code == 200, response.data[:300]
    return response


def test_a_swahili_invoice_names_lines_in_swahili_and_says_period_due_date_and_how_to_pay(
    client, finance, make_tenant, fiscal_runtime, tra
):
    tra.start()
    tenant = swahili_tenant(make_tenant, fiscal_runtime, terms=14)
    invoice = finalised(client, finance, tenant)
    pdf = download(client, finance, invoice["id"]).data
    picture(pdf, "invoice-sw")
    first, annex = text_of(pdf)[0], " ".join(text_of(pdf)[1:])
    assert "Simu kwenda Yas 9 dakika 60.00 A 540.00" in first
    assert "SMS kwenda Kenya (simu za mkononi)" in first
    assert "TZ-MOB" not in first and "INT-KE" not in first and "Voice calls" not in first
    assert "Kipindi cha ankara 1\u201331 Oktoba 2026" in first
    issued = datetime.fromisoformat(invoice["issued_at"])
    with fiscal_runtime.sessions() as session:
        due = session.get(Invoice, invoice["id"]).due_on
    assert (due - issued.date()).days in (14, 15)  # 14 days from the EAT date of issue
    months = ("Januari", "Februari", "Machi", "Aprili", "Mei", "Juni", "Julai", "Agosti",
              "Septemba", "Oktoba", "Novemba", "Desemba")  # fmt: skip
    assert f"Tarehe ya mwisho ya kulipa {due.day} {months[due.month - 1]} {due.year}" in first
    assert "JINSI YA KULIPA" in first and "0150234567800" in first
    assert "M-Pesa Lipa Namba 5123456" in first
    assert f"Taja kumbukumbu hii kwa kila malipo: {invoice['number']}" in first
    # The annex: EAT (23:50 UTC on the 5th is 02:50 on the 6th) and minutes, not seconds.
    assert "2026-10-06 02:50:00 Simu 255754000111 Yas dak 3 180.00" in annex
    assert "180" not in annex.replace("180.00", "") and "second" not in annex
    assert "Muda (EAT)" in annex and "UTC" not in annex


def test_a_partial_credit_note_reads_as_what_was_credited_and_has_no_empty_vfd_box(
    client, finance, make_tenant, fiscal_runtime, tra
):
    tra.start()
    tenant = swahili_tenant(make_tenant, fiscal_runtime)
    with fiscal_runtime.unit_of_work() as session:
        session.get(Tenant, tenant.tenant_id).language = Language.EN
    invoice = finalised(client, finance, tenant)
    voice = next(line for line in invoice["lines"] if line["item_id"].startswith("VOICE"))
    assert (voice["quantity"], voice["unit_price"], voice["amount"]) == (
        "9.000000",
        "60.00",
        540_00,
    )
    note = client.post(f"/v1/invoices/{invoice['id']}/credit-notes", json={
        "reason": "three minutes of a dropped call", "lines": [
            {"position": voice["position"], "amount": 180_00}]},
        headers=finance.headers).json  # fmt: skip
    assert note["lines"][0]["quantity"] == "-3.000000" and note["lines"][0]["unit_price"] == "60.00"
    done = client.post(f"/v1/invoices/{note['id']}/finalize", json={}, headers=finance.headers)
    assert done.json["net"] == -180_00 and done.json["vat"] == -32_40
    pdf = download(client, finance, note["id"]).data
    picture(pdf, "credit-note-en")
    (page,) = text_of(pdf)
    assert "Voice calls to Yas mobile -3 min 60.00 A -180.00" in page
    assert "-9 " not in page and "-20.00" not in page  # not 9 at -20.00
    assert "ADJUSTMENT NOTE (VAT ACT S.87)" in page
    assert "not sent to the VFD" in page and "TRA publishes no VFD message" in page
    assert "VFD FISCAL RECEIPT" not in page and "verification pending" not in page
    # Nothing is drawn where the VFD block was: below the text, the page is blank paper.
    image = pdfium.PdfDocument(pdf)[0].render(scale=1).to_pil().convert("L")
    textpage = pdfium.PdfDocument(pdf)[0].get_textpage()
    found = textpage.search("TRA publishes", match_case=True).get_next()
    bottom_of_text = textpage.get_charbox(found[0])[1]  # PDF points from the bottom
    cut = int(image.size[1] - bottom_of_text) + 40  # 40 px below that line
    below = image.crop((0, cut, image.size[0], image.size[1] - 60))  # above the footer
    assert below.getextrema()[0] > 240, "something is drawn below the adjustment note"


def test_a_top_up_receipt_is_a_receipt_with_method_and_operator_reference(
    client, fiscal_runtime, tra, tenant
):
    tra.start()
    topup_id = succeeded_topup(fiscal_runtime, tenant.tenant_id, amount=50_000_00)
    with fiscal_runtime.unit_of_work() as session:
        from billing.topups.models import Topup

        session.get(Topup, topup_id).provider_txn_id = "QJK5T7ZP2M"
    jobs.topup_receipt(topup_id)
    rid = receipt_id(fiscal_runtime, topup_id)
    listed = client.get(f"/v1/invoices/{rid}", headers=tenant.headers).json
    assert listed["topup_id"] == topup_id
    pdf = download(client, tenant, rid).data
    picture(pdf, "topup-receipt-en")
    (page,) = text_of(pdf)
    assert "RECEIPT" in page and "TAX INVOICE" not in page.upper().replace("TAX INVOICES", "")
    assert "Paid by M-Pesa (mobile money)" in page
    assert "Transaction reference QJK5T7ZP2M" in page
    assert "How to pay" not in page  # paid already
    assert "VFD FISCAL RECEIPT" in page  # and fiscalised: TRA's code and QR


@pytest.fixture
def quiet_app(fiscal_app):
    """The same app without e-mail: the first download is the original."""
    settings = dataclasses.replace(fiscal_app.extensions[EXTENSION].settings, smtp_host=None)
    app = create_app(settings)
    with app.app_context():
        yield app
    app.extensions[EXTENSION].engine.dispose()


def test_the_first_download_is_the_original_every_later_one_a_copy(
    quiet_app, finance, make_tenant, tra
):
    tra.start()
    client, runtime = quiet_app.test_client(), quiet_app.extensions[EXTENSION]
    tenant = swahili_tenant(make_tenant, runtime)
    invoice = finalised(client, finance, tenant)
    first = download(client, tenant, invoice["id"])
    assert first.headers["X-Document-Copy"] == "false"
    assert all("NAKALA" not in page for page in text_of(first.data))
    for n in range(2):
        later = download(client, finance if n else tenant, invoice["id"])
        assert later.headers["X-Document-Copy"] == "true"
        pages = text_of(later.data)
        assert all("NAKALA" in page for page in pages)  # every page, the annex's too
        assert "NAKALA · hati halisi alipewa mteja (Sheria ya VAT k.86(4))" in pages[0]
    picture(later.data, "copy-sw")
    with runtime.sessions() as session:
        row = session.get(Invoice, invoice["id"])
        assert (row.original_released_via, row.copies_issued) == ("download", 2)
    jobs.render(invoice["id"])  # a rendering after the original left: a copy too
    with runtime.sessions() as session:
        assert session.get(Invoice, invoice["id"]).pdf_version == 1  # nothing new to render
    jobs.deliver(invoice["id"])  # no e-mail configured: nothing sent, nothing changes


def test_racing_first_downloads_make_one_original(quiet_app, finance, make_tenant, tra):
    tra.start()
    client, runtime = quiet_app.test_client(), quiet_app.extensions[EXTENSION]
    tenant = swahili_tenant(make_tenant, runtime)
    invoice = finalised(client, finance, tenant)
    answers: list[str] = []
    barrier = threading.Barrier(4)

    def fetch() -> None:
        own = quiet_app.test_client()
        barrier.wait()
        answers.append(download(own, tenant, invoice["id"]).headers["X-Document-Copy"])

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["false", "true", "true", "true"]


def test_after_the_e_mail_every_download_is_a_copy(client, finance, make_tenant, fiscal_runtime,
                                                   tra, smtp):  # fmt: skip
    tra.start()
    mailbox, _port = smtp
    tenant = swahili_tenant(make_tenant, fiscal_runtime)
    invoice = finalised(client, finance, tenant)
    assert len(mailbox.messages) == 1  # the original, e-mailed
    emailed = next(
        part.get_payload(decode=True)
        for part in __import__("email").message_from_bytes(mailbox.messages[0]).walk()
        if part.get_filename()
    )
    assert all("NAKALA" not in page for page in text_of(emailed))
    again = download(client, tenant, invoice["id"])
    assert again.headers["X-Document-Copy"] == "true" and "NAKALA" in text_of(again.data)[0]
