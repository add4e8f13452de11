"""The demo's dunning step: a postpaid invoice left unpaid; reminders on the schedule,
the tenant restricted past grace (authorise answers tenant_overdue), the aged
receivables beside the ledger, then paid and the restriction lifted."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests

from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.money import Currency
from billing.dunning import aging, service
from billing.invoicing.models import Invoice
from billing.runtime import Runtime
from billing.tariffs.seed import put_on_default_plan
from billing.tariffs.standings import forget_standings
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.usage.models import UsageRecord, UsageStatus
from invoices.pdf import numbers


def dunning_step(url: str, runtime: Runtime, say: Callable[[str], None], admin_key: str) -> None:
    http = requests.Session()
    with runtime.unit_of_work() as session:
        _user, finance = create_staff(
            session, email=f"demo-dunning-{uuid.uuid4().hex[:8]}@malipo.test", role=Role.FINANCE
        )
        tenant = create_tenant(session, NewTenant(
            name="Demo Late Payer Ltd", email="ap@late-payer.co.tz", msisdn="255713000333",
            billing_mode=BillingMode.POSTPAID, currency=Currency.TZS, payment_terms_days=14,
        ))  # fmt: skip
        at = datetime(2026, 10, 9, 8, tzinfo=UTC)
        session.add(UsageRecord(
            source_system="demo", source_id=uuid.uuid4().hex, tenant_id=tenant.id,
            service="voice", to_number="255754000999", occurred_at=at, started_at=at,
            status=UsageStatus.ACCRUED, zone="TZ-MOB-VODACOM", unit="second",
            billed_units=600, currency="TZS", net_minor=900_00,
        ))  # fmt: skip
        put_on_default_plan(session, tenant.id)
    http.headers["Authorization"] = f"Bearer {finance}"
    period = {"tenant_id": tenant.id, "period_start": "2026-10-01", "period_end": "2026-11-01"}
    draft = http.post(f"{url}/v1/invoices", json=period, timeout=60).json()
    done = http.post(f"{url}/v1/invoices/{draft['id']}/finalize", json={}, timeout=60).json()
    with runtime.sessions() as session:
        due_on = session.get(Invoice, done["id"]).due_on
    say(f"  {done['number']}: TZS {done['gross'] / 100:,.2f}, due {due_on} (14 days' terms)")
    later = due_on + timedelta(days=runtime.settings.dunning_grace_days)
    with runtime.unit_of_work() as session:
        steps = service.run(session, runtime.settings, today=later)
    days = ", ".join(str(d) for d in runtime.settings.dunning_reminder_days)
    say(
        f"  {later} (unpaid): {len(steps.reminders)} reminders (days {days}: e-mail and "
        f"invoice.overdue), tenant restricted: {tenant.id in steps.restricted}"
    )
    forget_standings()
    asked = {"tenant_id": tenant.id, "service": "voice", "destination": "0754 000 111"}
    answer = http.post(f"{url}/v1/authorize", json=asked, timeout=30).json()
    say(f"  authorise: allowed={answer['allowed']}, reason {answer.get('reason')}")
    with runtime.sessions() as session:
        (row,) = aging.aged_receivables(session, later, tenant.id)
    say(f"  aged receivables on {later}: " + ", ".join(
        f"{name} {numbers.amount(amount, 'TZS')}" for name, amount in row.buckets.items())
        + f"; total {numbers.amount(row.total, 'TZS')} = ledger receivable "
        f"{numbers.amount(row.ledger_receivable, 'TZS')}")  # fmt: skip
    http.post(f"{url}/v1/invoices/{done['id']}/payments", json={
        "amount": done["gross"], "currency": "TZS", "method": "mobile_money",
        "reference": f"MPESA-{uuid.uuid4().hex[:8].upper()}",
        "received_at": datetime.now(UTC).isoformat()},
        headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=60)  # fmt: skip
    forget_standings()
    answer = http.post(f"{url}/v1/authorize", json=asked, timeout=30).json()
    say(f"  paid by M-Pesa: restriction lifted, authorise allowed={answer['allowed']}")
