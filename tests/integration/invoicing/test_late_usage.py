"""Postpaid usage rated late: before its period's draft is finalised it is on the invoice
(finalising rebuilds the draft); after, it becomes a pending usage adjustment that the
next draft bills as "Late usage of …". Either way it is billed, and counted in the
accrued total, exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from billing.invoicing.models import Invoice
from billing.tenants.models import BillingMode
from billing.usage.models import UsageAdjustment, UsageRecord
from tests.factories import on_default_plan, top_up
from tests.integration.invoicing.test_rerating_invoiced import (
    APRIL,
    APRIL_CALL,
    MARCH,
    VODACOM,
    YAS,
    accrued,
    adjustments,
    calls,
    credit_notes,
    draft,
    finalise,
    invoiced,
    lines,
    rerate,
)
from tests.integration.usage.conftest import cdr, send

pytestmark = pytest.mark.integration

LATE_YAS = "Late usage of 2026-03: Voice calls, TZ-MOB-YAS"


@pytest.fixture
def on_standard_plan(make_tenant, fiscal_runtime):
    """A tenant on the standard plan (a call in the tests costs 75.83 there too)."""

    def make(billing_mode: BillingMode, balance: int = 0):
        tenant = make_tenant(billing_mode=billing_mode)
        with fiscal_runtime.unit_of_work() as session:
            on_default_plan(session, tenant.tenant_id)
            if balance:
                top_up(session, tenant.tenant_id, balance)
        return tenant

    return make


def late(runtime, tenant) -> list[tuple[str, int, str | None, str]]:
    """The tenant's adjustments as (kind, amount, billed by, corrected invoice)."""
    return [(a.kind, a.amount_minor, a.invoice_id, a.source_invoice_id)
            for a in adjustments(runtime, tenant)]  # fmt: skip


def test_usage_rated_after_the_draft_is_on_the_finalised_invoice(
    client, admin, postpaid, fiscal_runtime, tra
):
    tra.start()
    tenant, _correct = postpaid
    calls(client, admin, tenant, VODACOM)
    march_id = draft(fiscal_runtime, tenant, MARCH)
    assert lines(fiscal_runtime, march_id) == [("Voice calls, TZ-MOB-VODACOM", 75_83)]
    calls(client, admin, tenant, YAS)  # the draft's lines were made without it
    assert accrued(fiscal_runtime, tenant) == 2 * 75_83

    finalise(fiscal_runtime, march_id)
    assert lines(fiscal_runtime, march_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83), ("Voice calls, TZ-MOB-YAS", 75_83),
    ]  # fmt: skip
    with fiscal_runtime.sessions() as session:
        assert session.get(Invoice, march_id).net_minor == 2 * 75_83
    assert accrued(fiscal_runtime, tenant) == 0
    assert adjustments(fiscal_runtime, tenant) == []


def test_usage_of_a_finalised_period_is_billed_by_the_next_draft(
    client, admin, postpaid, fiscal_runtime, tra
):
    tra.start()
    tenant, _correct = postpaid
    calls(client, admin, tenant, VODACOM)
    march_id = invoiced(fiscal_runtime, tenant)
    assert accrued(fiscal_runtime, tenant) == 0

    resent = cdr(tenant.tenant_id, callee=YAS)  # a March call, rated in April
    assert send(client, admin, [resent])["accepted"] == 1
    assert late(fiscal_runtime, tenant) == [("late", 75_83, None, march_id)]
    assert accrued(fiscal_runtime, tenant) == 75_83  # once: the adjustment, not the row too
    assert lines(fiscal_runtime, march_id) == [("Voice calls, TZ-MOB-VODACOM", 75_83)]
    with fiscal_runtime.sessions() as session:
        row = session.execute(
            select(UsageRecord).where(UsageRecord.source_id == resent["source_id"])
        ).scalar_one()
        assert (row.status, row.net_minor) == ("accrued", 75_83)
    send(client, admin, [resent])  # the carrier resends it: a duplicate, nothing more
    assert len(adjustments(fiscal_runtime, tenant)) == 1
    assert accrued(fiscal_runtime, tenant) == 75_83

    calls(client, admin, tenant, VODACOM, **APRIL_CALL)
    assert accrued(fiscal_runtime, tenant) == 2 * 75_83
    april_id = draft(fiscal_runtime, tenant, APRIL)
    assert lines(fiscal_runtime, april_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83), (LATE_YAS, 75_83),
    ]  # fmt: skip
    assert late(fiscal_runtime, tenant) == [("late", 75_83, april_id, march_id)]
    assert accrued(fiscal_runtime, tenant) == 2 * 75_83  # a draft invoices nothing

    finalise(fiscal_runtime, april_id)
    with fiscal_runtime.sessions() as session:
        assert session.get(Invoice, april_id).net_minor == 2 * 75_83
    assert lines(fiscal_runtime, april_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83), (LATE_YAS, 75_83),
    ]  # fmt: skip
    assert accrued(fiscal_runtime, tenant) == 0
    may_call = {"started_at": "2026-05-12T09:00:00+03:00"}
    calls(client, admin, tenant, VODACOM, **may_call, answered_at="2026-05-12T09:00:05+03:00")
    may_id = draft(fiscal_runtime, tenant, (date(2026, 5, 1), date(2026, 6, 1)))
    assert lines(fiscal_runtime, may_id) == [("Voice calls, TZ-MOB-VODACOM", 75_83)]


def test_late_usage_a_finalise_finds_pending_is_billed_by_it(
    client, admin, postpaid, fiscal_runtime, tra
):
    """A late record rated after the next draft was made: that draft bills it when it is
    finalised, rather than leaving it to the one after."""
    tra.start()
    tenant, _correct = postpaid
    calls(client, admin, tenant, VODACOM)
    march_id = invoiced(fiscal_runtime, tenant)
    calls(client, admin, tenant, VODACOM, **APRIL_CALL)
    april_id = draft(fiscal_runtime, tenant, APRIL)
    calls(client, admin, tenant, YAS)  # March
    finalise(fiscal_runtime, april_id)
    assert lines(fiscal_runtime, april_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83), (LATE_YAS, 75_83),
    ]  # fmt: skip
    assert late(fiscal_runtime, tenant) == [("late", 75_83, april_id, march_id)]
    assert accrued(fiscal_runtime, tenant) == 0


def test_a_batch_of_late_and_current_usage_of_several_tenants(
    client, admin, postpaid, on_standard_plan, fiscal_runtime, tra
):
    tra.start()
    invoiced_tenant, _correct = postpaid
    calls(client, admin, invoiced_tenant, VODACOM)
    march_id = invoiced(fiscal_runtime, invoiced_tenant)
    other = on_standard_plan(BillingMode.POSTPAID)  # nothing invoiced
    prepaid = on_standard_plan(BillingMode.PREPAID, balance=1_000_00)
    april = {"callee": YAS, **APRIL_CALL}
    batch = [
        cdr(invoiced_tenant.tenant_id, callee=YAS),  # late
        cdr(invoiced_tenant.tenant_id, **april),  # current
        cdr(invoiced_tenant.tenant_id, callee=YAS),  # late
        cdr(other.tenant_id),
        cdr(prepaid.tenant_id),
        cdr(other.tenant_id, **april),
    ]
    with _statements(fiscal_runtime) as seen:
        assert send(client, admin, batch)["accepted"] == 6
    assert len([s for s in seen if "invoiced_periods" in s]) == 1  # one lookup a batch

    assert late(fiscal_runtime, invoiced_tenant) == [("late", 2 * 75_83, None, march_id)]
    assert accrued(fiscal_runtime, invoiced_tenant) == 3 * 75_83
    assert adjustments(fiscal_runtime, other) == []
    assert accrued(fiscal_runtime, other) == 2 * 75_83
    assert adjustments(fiscal_runtime, prepaid) == []
    with fiscal_runtime.sessions() as session:
        [row] = session.execute(
            select(UsageRecord).where(UsageRecord.tenant_id == prepaid.tenant_id)
        ).scalars()
        assert row.status == "billed"

    april_id = draft(fiscal_runtime, invoiced_tenant, APRIL)
    finalise(fiscal_runtime, april_id)
    assert lines(fiscal_runtime, april_id) == [
        ("Voice calls, TZ-MOB-YAS", 75_83), (LATE_YAS, 2 * 75_83),
    ]  # fmt: skip
    assert accrued(fiscal_runtime, invoiced_tenant) == 0

    with _statements(fiscal_runtime) as seen:
        send(client, admin, [cdr(prepaid.tenant_id), cdr(prepaid.tenant_id, **april)])
    assert not [s for s in seen if "invoiced_periods" in s or "accrued_usage" in s]


class _statements:
    """The SQL the app's engine runs meanwhile."""

    def __init__(self, runtime) -> None:
        self.engine, self.seen = runtime.engine, []

    def _record(self, _conn, _cursor, statement, *_args) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def test_late_usage_priced_again_is_billed_at_the_new_price_in_all(
    client, admin, postpaid, fiscal_runtime, tra
):
    tra.start()
    tenant, correct = postpaid
    calls(client, admin, tenant, VODACOM)
    march_id = invoiced(fiscal_runtime, tenant)
    calls(client, admin, tenant, YAS)  # late: 75.83
    correct(yas="90")  # 97.50
    summary = rerate(client, admin, tenant)
    assert (summary["changed"], summary["adjustments_minor"]) == (1, 21_67)
    assert late(fiscal_runtime, tenant) == [
        ("late", 75_83, None, march_id), ("rerate", 21_67, None, march_id),
    ]  # fmt: skip
    assert accrued(fiscal_runtime, tenant) == 97_50

    correct(yas="50")  # 54.17: the pending adjustments give back the difference
    summary = rerate(client, admin, tenant)
    assert (summary["changed"], summary["adjustments_minor"], summary["credit_note_ids"]) == (
        1, -43_33, [],
    )  # fmt: skip
    assert late(fiscal_runtime, tenant) == [("late", 54_17, None, march_id)]
    assert accrued(fiscal_runtime, tenant) == 54_17
    assert credit_notes(fiscal_runtime, march_id) == []

    correct(yas="70")
    rerate(client, admin, tenant)  # back to 75.83: 21.66 more
    april_id = draft(fiscal_runtime, tenant, APRIL)
    finalise(fiscal_runtime, april_id)
    assert lines(fiscal_runtime, april_id) == [
        (LATE_YAS, 54_17), ("Re-rating of 2026-03: Voice calls, TZ-MOB-YAS", 21_66),
    ]  # fmt: skip
    assert lines(fiscal_runtime, march_id) == [("Voice calls, TZ-MOB-VODACOM", 75_83)]
    assert accrued(fiscal_runtime, tenant) == 0


def test_late_usage_invoiced_then_priced_lower_is_credited_where_it_was_billed(
    client, admin, postpaid, fiscal_runtime, tra
):
    tra.start()
    tenant, correct = postpaid
    calls(client, admin, tenant, VODACOM)
    march_id = invoiced(fiscal_runtime, tenant)
    calls(client, admin, tenant, YAS)  # late: 75.83
    calls(client, admin, tenant, VODACOM, **APRIL_CALL)
    april_id = invoiced(fiscal_runtime, tenant, APRIL)
    assert lines(fiscal_runtime, april_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83), (LATE_YAS, 75_83),
    ]  # fmt: skip

    correct(yas="50")  # 54.17: March's invoice has no Yas line; April's billed it
    summary = rerate(client, admin, tenant)
    assert (summary["changed"], summary["adjustments_minor"]) == (1, 0)
    assert credit_notes(fiscal_runtime, march_id) == []
    [note] = credit_notes(fiscal_runtime, april_id)
    assert summary["credit_note_ids"] == [note.id]
    assert [(line.item_id, line.description, line.amount_minor) for line in note.lines] == [
        ("LATE-VOICE-TZ-MOB-YAS", LATE_YAS, -21_66)
    ]
    assert accrued(fiscal_runtime, tenant) == 0  # 75.83 billed, 21.66 credited: 54.17


def test_late_usage_on_a_draft_priced_lower_is_taken_off_the_draft(
    client, admin, postpaid, fiscal_runtime, tra
):
    tra.start()
    tenant, correct = postpaid
    calls(client, admin, tenant, VODACOM)
    invoiced(fiscal_runtime, tenant)
    calls(client, admin, tenant, YAS)  # late: 75.83
    calls(client, admin, tenant, VODACOM, **APRIL_CALL)
    april_id = draft(fiscal_runtime, tenant, APRIL)
    assert lines(fiscal_runtime, april_id)[-1] == (LATE_YAS, 75_83)

    correct(yas="50")
    summary = rerate(client, admin, tenant)
    assert (summary["adjustments_minor"], summary["credit_note_ids"]) == (-21_66, [])
    assert lines(fiscal_runtime, april_id) == [
        ("Voice calls, TZ-MOB-VODACOM", 75_83), (LATE_YAS, 54_17),
    ]  # fmt: skip
    assert accrued(fiscal_runtime, tenant) == 75_83 + 54_17
    finalise(fiscal_runtime, april_id)
    assert accrued(fiscal_runtime, tenant) == 0


def test_a_record_rated_while_its_period_is_finalised_is_billed_once(
    client, admin, postpaid, fiscal_runtime, fiscal_app, tra
):
    """Finalise and rating race, week after week: the record is on the invoice or in a
    pending adjustment, never neither, never both; the accrued total is what is pending."""
    tra.start()
    tenant, _correct = postpaid
    monday = date(2026, 6, 1)
    for week in range(6):
        start = monday + timedelta(weeks=week)
        tuesday = f"{start + timedelta(days=1)}T09:00"
        when = {"started_at": f"{tuesday}:00+03:00", "answered_at": f"{tuesday}:05+03:00"}
        calls(client, admin, tenant, VODACOM, **when)
        invoice_id = draft(fiscal_runtime, tenant, (start, start + timedelta(weeks=1)))
        late_call = cdr(tenant.tenant_id, callee=YAS, **when)
        _race(
            fiscal_app,
            lambda invoice_id=invoice_id: finalise(fiscal_runtime, invoice_id),
            lambda late_call=late_call: send(fiscal_app.test_client(), admin, [late_call]),
        )
        with fiscal_runtime.sessions() as session:
            invoice = session.get(Invoice, invoice_id)
            assert invoice.status in ("finalised", "fiscalised", "sent")
            on_invoice = [line.amount_minor for line in invoice.lines
                          if line.item_id == "VOICE-TZ-MOB-YAS"]  # fmt: skip
            late_of_it = _amounts(session, UsageAdjustment.source_invoice_id == invoice_id)
            assert len(on_invoice) + len(late_of_it) == 1, (week, on_invoice, late_of_it)
            waiting = _amounts(
                session,
                UsageAdjustment.tenant_id == tenant.tenant_id,
                UsageAdjustment.invoice_id.is_(None),
            )
        assert accrued(fiscal_runtime, tenant) == sum(waiting)


def _race(app, *steps) -> None:
    """The steps at once, each on its own thread (in the app's context: jobs run inline)."""
    barrier = threading.Barrier(len(steps))

    def run(step) -> None:
        with app.app_context():
            barrier.wait()
            step()

    with ThreadPoolExecutor(len(steps)) as pool:
        for done in [pool.submit(run, step) for step in steps]:
            done.result()


def _amounts(session, *where) -> list[int]:
    query = select(UsageAdjustment.amount_minor).where(*where)
    return list(session.execute(query).scalars())
