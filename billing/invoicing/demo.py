"""The demo's invoicing step: a postpaid month invoiced for a Swahili-speaking tenant with
a postal address, finalised, fiscalised by the sandbox TRA, rendered once, its PDF written
to disk, then paid by bank transfer; a credit note after payment refunded; a late call
billed on the next month's draft; the fiscal receipt of the demo's top-up; yesterday's
Z report; and the audit trail of it all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import select

from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.money import Currency
from billing.invoicing.models import Invoice
from billing.runtime import Runtime
from billing.tariffs.seed import put_on_default_plan
from billing.tenants.models import BillingMode, Language
from billing.tenants.service import NewTenant, create_tenant
from billing.usage.models import UsageRecord, UsageStatus
from invoices.vfd.receipt import EAT

PDF_DIR = Path("var") / "demo"
_RATED = [  # (service, zone, unit, units, net minor): a month of a small contact centre
    ("voice", "TZ-MOB-VODACOM", "second", 1_800, 2_700_00),
    ("voice", "TZ-MOB-AIRTEL", "second", 900, 1_530_00),
    ("voice", "INT-KE-MOB", "second", 300, 2_250_00),
    ("sms", "TZ-MOB-VODACOM", "segment", 40, 1_200_00),
    ("whatsapp", "TZ-MOB-VODACOM", "message", 2_000, 30_00),  # TZS 0.015 a message
]


def invoice_step(
    url: str,
    runtime: Runtime,
    say: Callable[[str], None],
    topup_id: str | None,
    admin_key: str | None = None,
) -> Path:
    http = requests.Session()
    with runtime.unit_of_work() as session:
        _user, finance = create_staff(
            session, email=f"demo-finance-{uuid.uuid4().hex[:8]}@malipo.test", role=Role.FINANCE
        )
        tenant = create_tenant(session, NewTenant(
            name="Demo Contact Centre Ltd", email="accounts@demo-cc.co.tz", msisdn="255713000222",
            billing_mode=BillingMode.POSTPAID, currency=Currency.TZS, tin="987654321",
            vrn="40098765L", street="Plot 7, Bibi Titi Mohamed Street", po_box="20456",
            city="Dar es Salaam", language=Language.SW,
        ))  # fmt: skip
        _rated_usage(session, tenant.id)
        put_on_default_plan(session, tenant.id)  # for the late call below

    def call(
        method: str, path: str, body: dict | None = None, key: str | None = None, **headers: str
    ) -> requests.Response:
        auth = {"Authorization": f"Bearer {key or finance}"}
        response = http.request(
            method, f"{url}{path}", json=body, timeout=60, headers={**auth, **headers}
        )
        say(f"  {method} {path} → {response.status_code}")
        return response

    period = {"period_start": "2026-10-01", "period_end": "2026-11-01"}
    buyer = call("GET", f"/v1/tenants/{tenant.id}").json()
    say(f"  buyer {buyer['name']}: {buyer['address']}; documents in {buyer['language']}")
    draft = call("POST", "/v1/invoices", {"tenant_id": tenant.id, **period}).json()
    say(f"  draft {draft['id']}: {len(draft['lines'])} lines by service and zone")
    for line in draft["lines"]:
        say(f"    {line['description']}: {line['quantity']} {line['unit']} x "
            f"{line['unit_price']} = {line['amount'] / 100:,.2f}")  # fmt: skip
    done = call("POST", f"/v1/invoices/{draft['id']}/finalize", {}).json()
    say(
        f"  {done['number']}: net {done['net'] / 100:,.2f} + VAT {done['vat'] / 100:,.2f}"
        f" = TZS {done['gross'] / 100:,.2f}"
    )
    invoice = call("GET", f"/v1/invoices/{draft['id']}").json()
    fiscal = invoice["fiscal"]
    say(
        f"  TRA (simulated): receipt GC {fiscal['gc']}, Z {fiscal['znum']}, "
        f"verification code {fiscal['verification_code']}: {fiscal['status']}"
    )
    pdf = call("GET", f"/v1/invoices/{draft['id']}/pdf")
    PDF_DIR.mkdir(parents=True, exist_ok=True)
    path = (PDF_DIR / f"{done['number']}.pdf").resolve()
    path.write_bytes(pdf.content)
    say(f"  PDF ({len(pdf.content):,} bytes, in Swahili) written to {path}")
    _what_page_one_says(runtime, draft["id"], say)
    again = call("GET", f"/v1/invoices/{draft['id']}/pdf")
    copy_path = path.with_name(f"{done['number']}-nakala.pdf")
    copy_path.write_bytes(again.content)
    marked = pdf.headers.get("X-Document-Copy")
    say(f"  the first download was the original (X-Document-Copy: {marked}); the next is"
        f" marked NAKALA/COPY on every page (VAT Act s.86(4)): {copy_path}")  # fmt: skip
    with runtime.sessions() as session:
        versions = session.get(Invoice, draft["id"]).pdf_version
    say(f"  rendered {versions} time(s): once TRA had answered, so with its verification")
    paid = call("POST", f"/v1/invoices/{draft['id']}/payments", {
        "amount": done["gross"], "currency": "TZS", "method": "bank_transfer",
        "reference": f"CRDB-{uuid.uuid4().hex[:8].upper()}",
        "received_at": datetime.now(UTC).isoformat(),
    }, **{"Idempotency-Key": uuid.uuid4().hex}).json()  # fmt: skip
    say(f"  paid by bank transfer: {paid['payment_status']}, TZS {paid['amount_due'] / 100:,.2f}"
        " left to pay; receivable cleared in one ledger transaction")  # fmt: skip
    _credit_after_payment(call, say, draft["id"], draft["lines"][0])
    if admin_key:
        _late_call(call, say, tenant.id, admin_key)
    if topup_id:
        _topup_receipt(runtime, topup_id, say)
    _zreport(call, say)
    if admin_key:
        trail = call("GET", f"/v1/audit-events?tenant_id={tenant.id}", key=admin_key).json()
        actions = [event["action"] for event in reversed(trail["items"])]
        say(f"  audit trail of {tenant.id}: {', '.join(actions)}")
    return path


def _credit_after_payment(
    call: Callable[..., requests.Response], say: Callable[[str], None], invoice_id: str, line: dict
) -> None:
    """A credit note on the paid invoice leaves credit for the customer, paid back here
    (with an open invoice it would have gone to that invoice)."""
    amount = line["amount"] // 2
    note = call("POST", f"/v1/invoices/{invoice_id}/credit-notes", {
        "reason": "half of the first line billed twice",
        "lines": [{"position": line["position"], "amount": amount}],
    }).json()  # fmt: skip
    note = call("POST", f"/v1/invoices/{note['id']}/finalize", {}).json()
    held = -call("GET", f"/v1/invoices/{invoice_id}/credits").json()["amount_due"]
    say(f"  credit note {note['number']} after payment: TZS {-note['gross'] / 100:,.2f};"
        f" the customer holds TZS {held / 100:,.2f} of credit")  # fmt: skip
    refund = call("POST", f"/v1/invoices/{invoice_id}/refunds", {
        "amount": held, "currency": "TZS", "method": "mobile_money",
        "reference": f"MPESA-{uuid.uuid4().hex[:8].upper()}",
    }, **{"Idempotency-Key": uuid.uuid4().hex}).json()  # fmt: skip
    say(f"  refunded by mobile money: TZS {refund['refund']['amount'] / 100:,.2f},"
        f" TZS {-refund['amount_due'] / 100:,.2f} of credit left")  # fmt: skip


def _late_call(
    call: Callable[..., requests.Response], say: Callable[[str], None], tenant_id: str, key: str
) -> None:
    """A call of October that arrives after October's invoice: billed on November's."""
    started = "2026-10-30T09:00:00+03:00"
    call("POST", "/v1/usage/cdrs", {"records": [{
        "source_id": uuid.uuid4().hex, "tenant_id": tenant_id, "caller": "255713000222",
        "callee": "0754 000 111", "started_at": started, "answered_at": started,
        "duration_s": 125, "billsec_s": 125, "disposition": "ANSWERED",
    }]}, key=key)  # fmt: skip
    period = {"period_start": "2026-11-01", "period_end": "2026-12-01"}
    november = call("POST", "/v1/invoices", {"tenant_id": tenant_id, **period}).json()
    for line in november["lines"]:
        say(f"  a late call of 30 October, on November's draft: {line['description']}"
            f" = {line['amount'] / 100:,.2f}")  # fmt: skip


def _zreport(call: Callable[..., requests.Response], say: Callable[[str], None]) -> None:
    """Yesterday's Z report (the worker's ticker sends it each day; finance can too)."""
    day = (datetime.now(EAT) - timedelta(days=1)).date().isoformat()
    report = call("POST", "/v1/zreports", {"day": day}).json()
    listed = call("GET", "/v1/zreports").json()["items"]
    status = next((z["status"] for z in listed if z["day"] == day), report.get("status"))
    say(
        f"  Z report {report.get('znumber')}: {report.get('tickets')} receipts, "
        f"TZS {report.get('daily_total', 0) / 100:,.2f}, TRA {status}"
    )


def _rated_usage(session, tenant_id: str) -> None:
    start = datetime(2026, 10, 3, 7, tzinfo=UTC)
    for n, (service, zone, unit, units, net) in enumerate(_RATED):
        at = start + timedelta(days=3 * n, minutes=17 * n)
        session.add(UsageRecord(
            source_system="demo", source_id=uuid.uuid4().hex, tenant_id=tenant_id,
            service=service, to_number="255754" + f"{n:06d}", occurred_at=at, started_at=at,
            status=UsageStatus.ACCRUED, zone=zone, unit=unit, billed_units=units,
            currency="TZS", net_minor=net,
        ))  # fmt: skip


def _topup_receipt(runtime: Runtime, topup_id: str, say: Callable[[str], None]) -> None:
    with runtime.sessions() as session:
        receipt = session.execute(select(Invoice).where(Invoice.topup_id == topup_id)).scalar()
    if receipt is None:
        say("  the top-up's fiscal receipt is not made yet")
        return
    say(
        f"  the top-up's fiscal receipt {receipt.number_text}: TZS {receipt.gross_minor / 100:,.2f}"
        f" incl. VAT {receipt.vat_minor / 100:,.2f}, TRA {receipt.fiscal_status.value}"
    )


def _what_page_one_says(runtime: Runtime, invoice_id: str, say: Callable[[str], None]) -> None:
    """The Swahili page 1 as an accountant reads it: lines named in Swahili, the period,
    the due date and how to pay with the invoice number as reference."""
    from billing.invoicing.documents import document_of, language_of
    from invoices.pdf import numbers
    from invoices.pdf.wording import with_unit

    with runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        doc = document_of(invoice, language=language_of(invoice))
    for line in doc.lines:
        net = numbers.amount(line.net_minor, doc.currency)
        quantity = with_unit(numbers.decimal(line.quantity), line.unit, line.quantity, "sw")
        say(f"    {line.description}: {quantity} x {numbers.unit_price(line.unit_price)} = {net}")
    period = numbers.date_range(doc.period.first_day, doc.period.last_day, "sw")
    pay, due = doc.pay_to, numbers.long_date(doc.due_on, "sw")
    say(f"  page 1: Kipindi cha ankara {period}; Tarehe ya mwisho ya kulipa {due}; lipa"
        f" {pay.bank_name} {pay.account_number} au {pay.mobile_money_name}"
        f" {pay.mobile_money_number}, kumbukumbu {pay.reference}")  # fmt: skip
