"""The daily Z report: sealed once from the acknowledged receipts, sent after them, resent
byte for byte after a failure, never after ACK 0; the ticker closes yesterday."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from billing.core.clock import utcnow
from billing.invoicing import jobs, vfd, zreports
from billing.invoicing.models import DailyZReport, Invoice, ZReportStatus
from billing.invoicing.zreports import request_zreport, send_pending, yesterday
from invoices.vfd.receipt import EAT
from invoices.vfd.signing import open_envelope
from tests.integration.invoicing.test_fiscalisation import finalise

pytestmark = pytest.mark.integration


def today():
    return utcnow().astimezone(EAT).date()


def seal(runtime, day) -> DailyZReport | None:
    with runtime.unit_of_work() as session:
        report = request_zreport(session, runtime.settings, day)
        return None if report is None else report.id


def load(runtime, report_id: int) -> DailyZReport:
    with runtime.sessions() as session:
        report = session.get(DailyZReport, report_id)
        _ = report.body
        return report


def send(runtime) -> int:
    settings = runtime.settings
    return send_pending(runtime, vfd.client(settings), vfd.device(settings).efd_serial)


def test_the_days_receipts_are_totalled_and_tra_acknowledges_the_report(
    fiscal_runtime, tra, postpaid_draft
):
    tra.start()
    drafts = [postpaid_draft(fiscal_runtime)[1] for _ in range(2)]
    for draft in drafts:
        finalise(fiscal_runtime, draft)
    with fiscal_runtime.sessions() as session:
        gross = sum(session.get(Invoice, d).gross_minor for d in drafts)
    report_id = seal(fiscal_runtime, today())  # sent after commit, by its job
    report = load(fiscal_runtime, report_id)
    assert report.status is ZReportStatus.ACKNOWLEDGED and report.attempts == 1
    assert (report.tickets, report.daily_total_minor, report.gross_minor) == (2, gross, gross)
    payload, _signature = open_envelope(report.body)
    znumber = today().strftime("%Y%m%d")
    assert tra.state.zreports[znumber] == payload
    assert b"<TICKETSFISCAL>2</TICKETSFISCAL>" in payload
    text = f"{gross // 100}.{gross % 100:02d}"
    assert f"<DAILYTOTALAMOUNT>{text}<".encode() in payload
    assert f"<PMTTYPE>INVOICE</PMTTYPE><PMTAMOUNT>{text}<".encode() in payload
    assert seal(fiscal_runtime, today()) == report_id  # once per day
    received = len(tra.state.received)
    assert send(fiscal_runtime) == 0  # never resent after ACK 0
    assert len(tra.state.received) == received


@pytest.mark.parametrize("fault", ["http500", "timeout", "ack1"])
def test_a_failed_report_is_resent_with_the_identical_xml(
    fiscal_runtime, tra, postpaid_draft, fault
):
    tra.start()
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    tra.state.faults.append(fault)
    report_id = seal(fiscal_runtime, today())
    failed = load(fiscal_runtime, report_id)
    assert failed.status is ZReportStatus.PENDING and failed.attempts == 1
    assert failed.last_error
    jobs.zreport_sweep()  # the ticker resends it (and closes yesterday too)
    done = load(fiscal_runtime, report_id)
    assert done.status is ZReportStatus.ACKNOWLEDGED and done.attempts == 2
    assert sum(body == done.body for body in tra.state.received) == 2


def test_a_day_with_receipts_pending_at_tra_waits(fiscal_runtime, tra, postpaid_draft):
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)  # TRA down: the receipt is pending
    assert seal(fiscal_runtime, today()) is None
    tra.start()
    jobs.sweep()  # the receipt goes through
    report = load(fiscal_runtime, seal(fiscal_runtime, today()))
    assert report.tickets == 1 and report.status is ZReportStatus.ACKNOWLEDGED


def test_the_ticker_closes_yesterday_once_and_gross_is_cumulative(
    fiscal_runtime, tra, postpaid_draft
):
    tra.start()
    jobs.zreport_sweep()
    jobs.zreport_sweep()
    serial = vfd.device(fiscal_runtime.settings).efd_serial
    with fiscal_runtime.sessions() as session:
        rows = (
            session.execute(select(DailyZReport).where(DailyZReport.efd_serial == serial))
            .scalars()
            .all()
        )
    assert [(r.day, r.tickets, r.status) for r in rows] == [
        (yesterday(), 0, ZReportStatus.ACKNOWLEDGED)
    ]
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    today_report = load(fiscal_runtime, seal(fiscal_runtime, today()))
    assert today_report.gross_minor == today_report.daily_total_minor > 0
    assert yesterday() == today() - timedelta(days=1)


def test_staff_list_and_close_a_day_over_http(fiscal_app, tra, finance, tenant):
    tra.start()
    client = fiscal_app.test_client()
    now = {"day": today().isoformat()}
    refused = client.post("/v1/zreports", json=now, headers=finance.headers)
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert "day" in refused.get_json()["errors"]
    day = (today() - timedelta(days=3)).isoformat()
    made = client.post("/v1/zreports", json={"day": day}, headers=finance.headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["znumber"] == day.replace("-", "")
    listed = client.get("/v1/zreports", headers=finance.headers).get_json()["items"]
    assert listed[0]["day"] == day and listed[0]["status"] == "acknowledged"
    assert client.get("/v1/zreports", headers=tenant.headers).status_code == 403
    assert client.post("/v1/zreports", json={"day": day}, headers=tenant.headers).status_code == 403
    assert zreports.yesterday() < today()


def test_the_ticker_sends_every_day_missed_since_the_last_report_in_order(
    fiscal_runtime, tra, postpaid_draft
):
    tra.start()
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    first = load(fiscal_runtime, seal(fiscal_runtime, today() - timedelta(days=5)))
    jobs.zreport_sweep()  # as after a worker that was down for four days
    serial = vfd.device(fiscal_runtime.settings).efd_serial
    with fiscal_runtime.sessions() as session:
        rows = (
            session.execute(
                select(DailyZReport)
                .where(DailyZReport.efd_serial == serial)
                .order_by(DailyZReport.id)
            )
            .scalars()
            .all()
        )
    assert [r.day for r in rows] == [today() - timedelta(days=n) for n in range(5, 0, -1)]
    assert {r.status for r in rows} == {ZReportStatus.ACKNOWLEDGED}
    assert {r.gross_minor for r in rows} == {first.gross_minor}  # no sales since: GROSS holds
    assert [r.day.strftime("%Y%m%d") for r in rows] == list(tra.state.zreports)[-5:]


def test_a_first_report_starts_from_the_first_receipts_day(fiscal_runtime, postpaid_draft):
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)  # TRA down: pending, dated today
    serial = vfd.device(fiscal_runtime.settings).efd_serial
    in_three_days = utcnow() + timedelta(days=3)
    with fiscal_runtime.sessions() as session:
        assert zreports.days_to_close(session, serial) == [yesterday()]
        later = zreports.days_to_close(session, serial, in_three_days)
    assert later == [today(), today() + timedelta(days=1), today() + timedelta(days=2)]
