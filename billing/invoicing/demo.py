"""The demo's invoicing step: a postpaid month invoiced, finalised, fiscalised by the
sandbox TRA, its PDF written to disk; and the fiscal receipt of the demo's top-up."""

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
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.usage.models import UsageRecord, UsageStatus

PDF_DIR = Path("var") / "demo"
_RATED = [  # (service, zone, unit, units, net minor): a month of a small contact centre
    ("voice", "TZ-MOB-VODACOM", "second", 1_800, 2_700_00),
    ("voice", "TZ-MOB-AIRTEL", "second", 900, 1_530_00),
    ("voice", "KE-MOB", "second", 300, 2_250_00),
    ("sms", "TZ-MOB-VODACOM", "segment", 40, 1_200_00),
]


def invoice_step(
    url: str, runtime: Runtime, say: Callable[[str], None], topup_id: str | None
) -> Path:
    http = requests.Session()
    with runtime.unit_of_work() as session:
        _user, finance = create_staff(
            session, email=f"demo-finance-{uuid.uuid4().hex[:8]}@malipo.test", role=Role.FINANCE
        )
        tenant = create_tenant(session, NewTenant(
            name="Demo Contact Centre Ltd", email="accounts@demo-cc.co.tz", msisdn="255713000222",
            billing_mode=BillingMode.POSTPAID, currency=Currency.TZS, tin="987654321",
            vrn="40098765L",
        ))  # fmt: skip
        _rated_usage(session, tenant.id)

    def call(method: str, path: str, body: dict | None = None) -> requests.Response:
        response = http.request(method, f"{url}{path}", json=body, timeout=60,
                                headers={"Authorization": f"Bearer {finance}"})  # fmt: skip
        say(f"  {method} {path} → {response.status_code}")
        return response

    period = {"period_start": "2026-10-01", "period_end": "2026-11-01"}
    draft = call("POST", "/v1/invoices", {"tenant_id": tenant.id, **period}).json()
    say(f"  draft {draft['id']}: {len(draft['lines'])} lines by service and zone")
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
    say(f"  PDF ({len(pdf.content):,} bytes) written to {path}")
    if topup_id:
        _topup_receipt(runtime, topup_id, say)
    return path


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
