"""Dunning: a postpaid invoice falls due on the tenant's terms; overdue, it gets
reminders on the configured schedule (e-mail and a platform event), and past the grace
period the tenant is restricted (authorise answers `tenant_overdue`) until it pays; every
step is audited and taken once. The aged-receivables report equals `receivable`."""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from billing.audit.models import AuditEvent
from billing.dunning import aging, service
from billing.dunning.models import DunningStep, DunningStepKind
from billing.events.models import PlatformEvent
from billing.invoicing.models import Invoice
from billing.ledger.postings import RECEIVABLE, Posting
from billing.ledger.service import post_transaction
from billing.tariffs.standings import forget_standings
from billing.tenants.models import BillingMode, Tenant
from tests.integration.invoicing.conftest import usage

pytestmark = pytest.mark.integration
PERIOD = {"period_start": "2026-10-01", "period_end": "2026-11-01"}


def overdue_invoice(client, finance, make_tenant, runtime, *, terms=14, net=1_000_00) -> dict:
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.get(Tenant, tenant.tenant_id).payment_terms_days = terms
        session.add(usage(tenant.tenant_id, net_minor=net))
    made = client.post("/v1/invoices", json={"tenant_id": tenant.tenant_id, **PERIOD},
                       headers=finance.headers).json  # fmt: skip
    done = client.post(f"/v1/invoices/{made['id']}/finalize", json={},
                       headers=finance.headers).json  # fmt: skip
    with runtime.sessions() as session:
        due_on = session.get(Invoice, done["id"]).due_on
    return {"tenant": tenant, "invoice": done, "due_on": due_on}


def steps(runtime, invoice_id: str) -> list[tuple[str, int]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(DunningStep.kind, DunningStep.level)
            .where(DunningStep.invoice_id == invoice_id).order_by(DunningStep.id)
        ).all()  # fmt: skip
    return [(kind.value, level) for kind, level in rows]


def dun(runtime, day) -> service.DunningRun:
    with runtime.unit_of_work() as session:
        return service.run(session, runtime.settings, today=day)


def authorise(client, finance, tenant_id: str) -> dict:
    forget_standings()  # the standing is cached for two seconds
    response = client.post("/v1/authorize", json={
        "tenant_id": tenant_id, "service": "voice", "destination": "255754000111"},
        headers=finance.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    return response.json


def test_reminders_on_schedule_then_restriction_until_paid(
    client, finance, make_tenant, fiscal_runtime, tra, smtp
):
    tra.start()
    mailbox, _port = smtp
    made = overdue_invoice(client, finance, make_tenant, fiscal_runtime, terms=14)
    invoice, tenant, due_on = made["invoice"], made["tenant"], made["due_on"]
    issued = datetime.fromisoformat(invoice["issued_at"]).astimezone(UTC).date()
    assert 14 <= (due_on - issued).days <= 15  # 14 days from the EAT date of issue
    mails_before = len(mailbox.messages)
    # (The database is shared with other tests: what a run did is read per invoice.)
    dun(fiscal_runtime, due_on)
    assert steps(fiscal_runtime, invoice["id"]) == []  # due today: not overdue yet
    dun(fiscal_runtime, due_on + timedelta(days=1))
    assert steps(fiscal_runtime, invoice["id"]) == [("reminder", 1)]
    dun(fiscal_runtime, due_on + timedelta(days=1))
    assert steps(fiscal_runtime, invoice["id"]) == [("reminder", 1)]  # once
    reminder = next(
        message for raw in mailbox.messages[mails_before:]
        if invoice["number"] in (message := email.message_from_bytes(raw))["Subject"]
    )  # fmt: skip
    assert f"payment reminder 1 for invoice {invoice['number']}" in reminder["Subject"]
    assert "0150234567800" in reminder.get_payload() and invoice["number"] in reminder.get_payload()
    dun(fiscal_runtime, due_on + timedelta(days=15))  # 7 and 14 days: two more at once
    assert steps(fiscal_runtime, invoice["id"]) == [("reminder", 1), ("reminder", 2),
                                                    ("reminder", 3)]  # fmt: skip
    assert authorise(client, finance, tenant.tenant_id).get("reason") != "tenant_overdue"
    restricted = dun(fiscal_runtime, due_on + timedelta(days=21))
    assert tenant.tenant_id in restricted.restricted
    answer = authorise(client, finance, tenant.tenant_id)
    assert answer["allowed"] is False and answer["reason"] == "tenant_overdue"
    paid = client.post(f"/v1/invoices/{invoice['id']}/payments", json={
        "amount": invoice["gross"], "currency": "TZS", "method": "bank_transfer",
        "reference": f"CRDB-{invoice['id']}", "received_at": datetime.now(UTC).isoformat()},
        headers=finance.headers)  # fmt: skip
    assert paid.status_code == 201, paid.json
    assert authorise(client, finance, tenant.tenant_id).get("reason") != "tenant_overdue"
    assert steps(fiscal_runtime, invoice["id"])[-2:] == [("restricted", 0), ("lifted", 1)]
    dun(fiscal_runtime, due_on + timedelta(days=60))
    assert steps(fiscal_runtime, invoice["id"])[-1] == ("lifted", 1)  # paid: nothing more
    with fiscal_runtime.sessions() as session:
        actions = session.execute(
            select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.tenant_id,
                                            AuditEvent.action.like("dunning.%"))
            .order_by(AuditEvent.id)
        ).scalars().all()  # fmt: skip
        events = session.execute(
            select(PlatformEvent.type).where(PlatformEvent.tenant_id == tenant.tenant_id)
        ).scalars().all()  # fmt: skip
    assert actions.count("dunning.reminder_queued") == 3
    assert actions.count("dunning.reminder_sent") == 3
    assert "dunning.tenant_restricted" in actions and "dunning.restriction_lifted" in actions
    assert events.count("invoice.overdue") == 3
    assert "tenant.restricted" in events and "tenant.unrestricted" in events


def test_racing_dunning_runs_take_each_step_once_and_never_deadlock(
    client, finance, make_tenant, fiscal_runtime, tra
):
    tra.start()
    made = overdue_invoice(client, finance, make_tenant, fiscal_runtime)
    day = made["due_on"] + timedelta(days=30)
    barrier, errors = threading.Barrier(3), []

    def run() -> None:
        barrier.wait()
        try:
            dun(fiscal_runtime, day)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert steps(fiscal_runtime, made["invoice"]["id"]) == [
        ("reminder", 1), ("reminder", 2), ("reminder", 3), ("restricted", 0)]  # fmt: skip


def test_aged_receivables_equal_receivable_in_the_ledger(
    client, finance, make_tenant, fiscal_runtime, tra
):
    tra.start()
    first = overdue_invoice(client, finance, make_tenant, fiscal_runtime, net=1_000_00)
    tenant = first["tenant"]
    client.post(f"/v1/invoices/{first['invoice']['id']}/payments", json={
        "amount": 300_00, "currency": "TZS", "method": "mobile_money", "reference": "MP-1",
        "received_at": datetime.now(UTC).isoformat()}, headers=finance.headers)  # fmt: skip
    note = client.post(f"/v1/invoices/{first['invoice']['id']}/credit-notes",
                       json={"reason": "goodwill", "lines": [{"position": 1, "amount": 100_00}]},
                       headers=finance.headers).json  # fmt: skip
    client.post(f"/v1/invoices/{note['id']}/finalize", json={}, headers=finance.headers)
    other = overdue_invoice(client, finance, make_tenant, fiscal_runtime, net=2_000_00)
    as_of = first["due_on"] + timedelta(days=50)  # issued ~64 days before
    report = client.get(f"/v1/reports/aged-receivables?as_of={as_of}", headers=finance.headers)
    assert report.status_code == 200, report.json
    rows = {row["tenant_id"]: row for row in report.json["items"]}
    mine = rows[tenant.tenant_id]
    assert mine["total"] == 1_180_00 - 300_00 - 118_00 == mine["ledger_receivable"]
    assert mine["buckets"]["61-90"] == mine["total"] and mine["overdue"] == mine["total"]
    assert mine["matches_ledger"] and rows[other["tenant"].tenant_id]["matches_ledger"]
    assert rows[other["tenant"].tenant_id]["total"] == 2_360_00
    totals = report.json["totals"]["TZS"]
    assert totals["total"] == totals["ledger_receivable"]
    tenant_view = client.get("/v1/reports/aged-receivables", headers=tenant.headers)
    assert tenant_view.status_code in (403, 404)
    # A planted error: receivable moved by hand, behind the invoices' back, is caught.
    with fiscal_runtime.unit_of_work() as session:
        post_transaction(session, tenant_id=tenant.tenant_id, idempotency_key="planted",
                         kind="planted", postings=[Posting(RECEIVABLE, "TZS", 5_00),
                                                   Posting("adjustments", "TZS", -5_00)],
                         description="planted", reference="x")  # fmt: skip
    with fiscal_runtime.sessions() as session:
        (row,) = aging.aged_receivables(session, as_of, tenant.tenant_id)
    assert not row.matches_ledger and row.ledger_receivable == row.total - 5_00


def test_the_cli_prints_the_report_with_the_ledger_beside_it(
    client, finance, make_tenant, fiscal_app, fiscal_runtime, tra
):
    tra.start()
    made = overdue_invoice(client, finance, make_tenant, fiscal_runtime)
    from billing.cli import aged_receivables

    result = CliRunner().invoke(aged_receivables, ["--as-of", str(made["due_on"])],
                                obj=None, catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Aged receivables as of" in result.output
    line = next(ln for ln in result.output.splitlines() if made["tenant"].tenant_id in ln)
    assert "1,180.00" in line and line.rstrip().endswith("=")
    assert [s for s in result.output.splitlines() if s.startswith("TOTAL")]
    _ = DunningStepKind  # the step kinds are what the steps list above reads


def test_payment_terms_are_set_by_an_admin_only(client, admin, make_tenant):
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    url = f"/v1/tenants/{tenant.tenant_id}"
    own = client.patch(url, json={"payment_terms_days": 90}, headers=tenant.headers)
    assert own.status_code == 403 and "payment_terms_days" in own.json["errors"]
    done = client.patch(url, json={"payment_terms_days": 7}, headers=admin.headers)
    assert done.status_code == 200 and done.json["payment_terms_days"] == 7
    assert client.patch(url, json={"payment_terms_days": -1},
                        headers=admin.headers).status_code == 422  # fmt: skip
