"""Re-rating a postpaid period its invoice already covers: a draft is rebuilt; a finalised
invoice gets a draft credit note for what went down and pending adjustments, billed by the
next draft, for what went up. The accrued total follows only what is not invoiced."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from billing.invoicing import payments, service
from billing.invoicing.models import Invoice
from billing.usage.accruals import exposure
from billing.usage.models import UsageAdjustment
from tests.integration.usage.conftest import cdr, send

pytestmark = pytest.mark.integration

MARCH = (date(2026, 3, 1), date(2026, 4, 1))
APRIL = (date(2026, 4, 1), date(2026, 5, 1))
MAY = (date(2026, 5, 1), date(2026, 6, 1))
YAS, VODACOM = "0712 345 678", "0754 000 111"
APRIL_CALL = {"started_at": "2026-04-14T09:00:00+03:00", "answered_at": "2026-04-14T09:00:05+03:00"}
MAY_CALL = {"started_at": "2026-05-12T09:00:00+03:00", "answered_at": "2026-05-12T09:00:05+03:00"}
# A 65 s peak call: 60 s, then by the second. At 70 a minute 75.83; 50: 54.17; 60: 65.00;
# 90: 97.50.


@pytest.fixture
def client(fiscal_app):
    return fiscal_app.test_client()


def calls(client, admin, tenant, *callees: str, **when) -> None:
    send(client, admin, [cdr(tenant.tenant_id, callee=callee, **when) for callee in callees])


def rerate(client, admin, tenant, period=MARCH) -> dict:
    body = {"tenant_id": tenant.tenant_id, "start": str(period[0]), "end": str(period[1])}
    response = client.post("/v1/usage/rerate", json=body, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def draft(runtime, tenant, period) -> str:
    with runtime.unit_of_work() as session:
        invoice, _ = service.create_postpaid_draft(session, "stf_test", tenant.tenant_id, *period)
        return invoice.id


def finalise(runtime, invoice_id: str) -> None:
    with runtime.unit_of_work() as session:
        service.finalise(session, runtime.settings, "stf_test", invoice_id)


def invoiced(runtime, tenant, period=MARCH) -> str:
    invoice_id = draft(runtime, tenant, period)
    finalise(runtime, invoice_id)
    return invoice_id


def accrued(runtime, tenant) -> int:
    with runtime.sessions() as session:
        return exposure(session.connection(), tenant.tenant_id, "TZS")[0]


def lines(runtime, invoice_id: str) -> list[tuple[str, int]]:
    with runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        return [(line.description, line.amount_minor) for line in invoice.lines]


def credit_notes(runtime, invoice_id: str) -> list[Invoice]:
    with runtime.sessions() as session:
        query = select(Invoice).where(Invoice.original_invoice_id == invoice_id)
        return list(session.execute(query).scalars())


def adjustments(runtime, tenant) -> list[UsageAdjustment]:
    with runtime.sessions() as session:
        query = select(UsageAdjustment).where(UsageAdjustment.tenant_id == tenant.tenant_id)
        return list(session.execute(query.order_by(UsageAdjustment.id)).scalars())


def test_a_cheaper_plan_credits_a_finalised_invoice_line_by_line(
    client, admin, postpaid, fiscal_runtime, tra
):
    tra.start()
    tenant, correct = postpaid
    calls(client, admin, tenant, YAS, YAS, VODACOM)
    invoice_id = invoiced(fiscal_runtime, tenant)
    assert lines(fiscal_runtime, invoice_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83), ("Voice calls, TZ-MOB-YAS", 2 * 75_83),
    ]  # fmt: skip
    assert accrued(fiscal_runtime, tenant) == 0
    with fiscal_runtime.sessions() as session:
        due_before = payments.amount_due(session, session.get(Invoice, invoice_id))

    correct(yas="50", vodacom="60")
    summary = rerate(client, admin, tenant)
    assert (summary["changed"], summary["net_difference"]) == (3, -54_15)
    assert summary["adjustments_minor"] == 0 and summary["ledger_transaction_id"] is None
    [note] = credit_notes(fiscal_runtime, invoice_id)
    assert summary["credit_note_ids"] == [note.id]
    assert note.status == "draft" and note.kind == "credit_note"
    assert "Re-rating of usage 2026-03-01 to 2026-03-31: 3 record(s)" in note.reason
    assert [(line.item_id, line.amount_minor) for line in note.lines] == [
        ("VOICE-TZ-MOB-VODACOM", -10_83),  # 65.00 - 75.83
        ("VOICE-TZ-MOB-YAS", -43_32),  # 2 x (54.17 - 75.83)
    ]
    assert accrued(fiscal_runtime, tenant) == 0  # the credit note takes it back, not accruals
    assert adjustments(fiscal_runtime, tenant) == []

    finalise(fiscal_runtime, note.id)  # through the pipeline like any credit note
    with fiscal_runtime.sessions() as session:
        issued = session.get(Invoice, note.id)
        assert issued.net_minor == -54_15 and issued.number_text.startswith("CN-")
        due = payments.amount_due(session, session.get(Invoice, invoice_id))
    assert due == due_before + issued.gross_minor < due_before
    assert accrued(fiscal_runtime, tenant) == 0


def test_a_dearer_plan_is_billed_by_the_next_draft_as_an_adjustment(
    client, admin, postpaid, fiscal_runtime, tra
):
    tra.start()
    tenant, correct = postpaid
    calls(client, admin, tenant, YAS)
    march_id = invoiced(fiscal_runtime, tenant)
    correct(yas="90")
    summary = rerate(client, admin, tenant)
    assert (summary["adjustments_minor"], summary["credit_note_ids"]) == (21_67, [])
    assert credit_notes(fiscal_runtime, march_id) == []
    [pending] = adjustments(fiscal_runtime, tenant)
    assert (pending.source_invoice_id, pending.invoice_id, pending.amount_minor) == (
        march_id, None, 21_67,
    )  # fmt: skip
    assert (pending.period_start, pending.period_end, pending.service, pending.zone) == (
        *MARCH, "voice", "TZ-MOB-YAS",
    )  # fmt: skip
    assert accrued(fiscal_runtime, tenant) == 21_67  # pending: exposure like accrued usage

    calls(client, admin, tenant, YAS, **APRIL_CALL)
    assert accrued(fiscal_runtime, tenant) == 21_67 + 97_50
    april_id = draft(fiscal_runtime, tenant, APRIL)
    assert lines(fiscal_runtime, april_id) == [
        ("Voice calls, TZ-MOB-YAS", 97_50),
        ("Re-rating of 2026-03: Voice calls, TZ-MOB-YAS", 21_67),
    ]
    [billed] = adjustments(fiscal_runtime, tenant)
    assert billed.invoice_id == april_id
    assert accrued(fiscal_runtime, tenant) == 21_67 + 97_50  # a draft invoices nothing

    finalise(fiscal_runtime, april_id)
    with fiscal_runtime.sessions() as session:
        assert session.get(Invoice, april_id).net_minor == 97_50 + 21_67
    assert accrued(fiscal_runtime, tenant) == 0


def test_voiding_the_draft_that_bills_an_adjustment_leaves_it_to_the_next(
    client, admin, postpaid, fiscal_runtime, finance, tra
):
    tra.start()
    tenant, correct = postpaid
    calls(client, admin, tenant, YAS)
    invoiced(fiscal_runtime, tenant)
    correct(yas="90")
    rerate(client, admin, tenant)
    april_id = draft(fiscal_runtime, tenant, APRIL)  # no April usage: the adjustment alone
    assert lines(fiscal_runtime, april_id) == [
        ("Re-rating of 2026-03: Voice calls, TZ-MOB-YAS", 21_67)
    ]
    voided = client.post(f"/v1/invoices/{april_id}/void", headers=finance.headers)
    assert voided.status_code == 200, voided.get_json()
    [released] = adjustments(fiscal_runtime, tenant)
    assert released.invoice_id is None
    assert accrued(fiscal_runtime, tenant) == 21_67

    calls(client, admin, tenant, VODACOM, **MAY_CALL)
    may_id = draft(fiscal_runtime, tenant, MAY)
    assert lines(fiscal_runtime, may_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83),
        ("Re-rating of 2026-03: Voice calls, TZ-MOB-YAS", 21_67),
    ]
    assert adjustments(fiscal_runtime, tenant)[0].invoice_id == may_id


def test_re_rating_a_period_whose_invoice_is_a_draft_rebuilds_the_draft(
    client, admin, postpaid, fiscal_runtime
):
    tenant, correct = postpaid
    calls(client, admin, tenant, YAS, YAS, VODACOM)
    draft_id = draft(fiscal_runtime, tenant, MARCH)
    correct(yas="60", vodacom="90")
    summary = rerate(client, admin, tenant)
    assert (summary["credit_note_ids"], summary["adjustments_minor"]) == ([], 0)
    assert lines(fiscal_runtime, draft_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 97_50), ("Voice calls, TZ-MOB-YAS", 2 * 65_00),
    ]  # fmt: skip
    assert accrued(fiscal_runtime, tenant) == 97_50 + 2 * 65_00  # not invoiced yet
    assert credit_notes(fiscal_runtime, draft_id) == []
    assert adjustments(fiscal_runtime, tenant) == []


def test_re_rating_twice_corrects_the_invoice_once(client, admin, postpaid, fiscal_runtime, tra):
    tra.start()
    tenant, correct = postpaid
    calls(client, admin, tenant, YAS, VODACOM)
    invoice_id = invoiced(fiscal_runtime, tenant)
    correct(yas="60", vodacom="90")  # one line down, the other up
    first = rerate(client, admin, tenant)
    assert (len(first["credit_note_ids"]), first["adjustments_minor"]) == (1, 21_67)
    [note] = credit_notes(fiscal_runtime, invoice_id)
    assert [(line.item_id, line.amount_minor) for line in note.lines] == [
        ("VOICE-TZ-MOB-YAS", -10_83)
    ]
    assert [a.zone for a in adjustments(fiscal_runtime, tenant)] == ["TZ-MOB-VODACOM"]
    assert accrued(fiscal_runtime, tenant) == 21_67

    again = rerate(client, admin, tenant)
    assert (again["changed"], again["credit_note_ids"], again["adjustments_minor"]) == (0, [], 0)
    assert len(credit_notes(fiscal_runtime, invoice_id)) == 1
    assert len(adjustments(fiscal_runtime, tenant)) == 1
    assert accrued(fiscal_runtime, tenant) == 21_67


def test_the_re_rate_endpoint_answers_the_invoice_corrections_for_any_tenant(
    client, admin, make_tenant, fiscal_runtime
):
    from billing.tariffs.seed import put_on_default_plan

    prepaid = make_tenant()
    with fiscal_runtime.unit_of_work() as session:
        put_on_default_plan(session, prepaid.tenant_id)
    answer = rerate(client, admin, prepaid)
    assert answer == {
        "examined": 0, "changed": 0, "unratable": 0, "net_difference": 0,
        "ledger_transaction_id": None, "credit_note_ids": [], "adjustments_minor": 0,
    }  # fmt: skip
