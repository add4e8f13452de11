"""The daily Z report: each VFD day closed with one signed `<ZREPORT>` to TRA.

The ticker asks for each closed day's (EAT) report, oldest first, once that day's
receipts are all acknowledged: its totals are read from the signed `<RCT>` bytes TRA
accepted, so they agree with TRA's own count. The report is sealed once (a row per VFD
and day holding the exact bytes) and posted after the day's receipts, under the same
drain lease, and resent unchanged after a failure until ACK 0, never after.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.core.db import insert_for
from billing.core.errors import Conflict, InvalidInput
from billing.invoicing import vfd
from billing.invoicing.fiscal import lease_vfd, release_vfd
from billing.invoicing.models import DailyZReport, Invoice, VfdCounter, ZReportStatus
from billing.invoicing.states import FiscalStatus
from billing.jobs.outbox import defer
from billing.runtime import Runtime
from invoices.vfd.client import VfdClient
from invoices.vfd.errors import VfdError
from invoices.vfd.receipt import EAT
from invoices.vfd.signing import envelope, open_envelope
from invoices.vfd.zreport import DayTotals, ZReport, ZReportHeader, build_zreport, day_totals

ZREPORT_JOB = "invoicing.zreport"
log = logging.getLogger(__name__)
_zreports = DailyZReport.__table__


def yesterday(now: datetime | None = None) -> date:
    """The last closed business day in Tanzania."""
    return ((now or utcnow()).astimezone(EAT) - timedelta(days=1)).date()


def request_zreport(
    session: Session, settings: Settings, day: date, actor: str = SYSTEM
) -> DailyZReport | None:
    """Seal `day`'s Z report once and ask for it to be sent; the row if it exists.

    None while a receipt of that day is still pending with TRA: its totals would not
    match TRA's yet (the ticker asks again later).
    """
    serial = vfd.device(settings).efd_serial
    found = _report(session, serial, day)
    if found is not None:
        return found
    znum = day.strftime("%Y%m%d")
    if _receipts(session, serial, znum, FiscalStatus.PENDING, only_one=True):
        return None
    totals = day_totals(_receipts(session, serial, znum, FiscalStatus.ACKNOWLEDGED))
    earlier = _gross_before(session, serial, day)
    report = _zreport(settings, day, totals, earlier + totals.total_minor)
    body = envelope(build_zreport(report), vfd.signing_key(settings))
    session.execute(
        insert_for(session, VfdCounter.__table__)  # the drain lease lives on this row
        .values(efd_serial=serial, last_gc=0, last_day="", last_dc=0)
        .on_conflict_do_nothing()
    )
    row = session.execute(
        insert_for(session, _zreports)
        .values(efd_serial=serial, day=day, status=ZReportStatus.PENDING.value, body=body,
                tickets=totals.tickets, daily_total_minor=totals.total_minor,
                gross_minor=report.gross_minor, attempts=0, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(_zreports.c.id)
    ).first()  # fmt: skip
    if row is not None:
        detail = {"day": day.isoformat(), "tickets": totals.tickets,
                  "daily_total_minor": totals.total_minor}  # fmt: skip
        record(session, actor=actor, action="zreport.sealed", subject_type="zreport",
               subject_id=str(row.id), detail=detail)  # fmt: skip
        defer(session, ZREPORT_JOB, serial, dedupe_key=f"{ZREPORT_JOB}:{row.id}")
    return _report(session, serial, day)


BACKFILL_DAYS = 31  # closed days one sweep seals at most; the next sweep goes on


def days_to_close(session: Session, serial: str, now: datetime | None = None) -> list[date]:
    """Closed days with no report yet, oldest first: from the day after the last report
    (or, before any, the first receipt's day) to yesterday. A worker that was down for
    days sends every day's report when it comes back, in order, as GROSS runs on."""
    last = session.execute(
        select(func.max(DailyZReport.day)).where(DailyZReport.efd_serial == serial)
    ).scalar()
    end = yesterday(now)
    if last is not None:
        start = last + timedelta(days=1)
    else:
        first = session.execute(
            select(func.min(Invoice.znum)).where(Invoice.efd_serial == serial)
        ).scalar()
        start = min(date.fromisoformat(first), end) if first else end  # YYYYMMDD
    days = (end - start).days + 1
    return [start + timedelta(days=n) for n in range(min(days, BACKFILL_DAYS))]


def close_day(session: Session, settings: Settings, actor: str, day: date) -> DailyZReport:
    """A staff request for `day`'s report: a closed day, all its receipts acknowledged."""
    if day > yesterday():
        raise InvalidInput.on("day", "must be a closed day: before today in Tanzania")
    report = request_zreport(session, settings, day, actor)
    if report is None:
        raise Conflict(f"receipts of {day} are still pending with TRA: the report waits for them")
    return report


def _report(session: Session, serial: str, day: date) -> DailyZReport | None:
    return session.execute(
        select(DailyZReport).where(DailyZReport.efd_serial == serial, DailyZReport.day == day)
    ).scalar()


def _receipts(
    session: Session, serial: str, znum: str, status: FiscalStatus, *, only_one: bool = False
) -> list[bytes]:
    query = (
        select(Invoice.receipt_body)
        .where(Invoice.efd_serial == serial, Invoice.znum == znum, Invoice.fiscal_status == status)
        .order_by(Invoice.gc)
    )
    bodies = session.execute(query.limit(1) if only_one else query).scalars()
    return [open_envelope(body)[0] for body in bodies]


def _gross_before(session: Session, serial: str, day: date) -> int:
    """GROSS is cumulative: the last report's, or every earlier receipt's for the first."""
    last = session.execute(
        select(DailyZReport.day, DailyZReport.gross_minor)
        .where(DailyZReport.efd_serial == serial, DailyZReport.day < day)
        .order_by(DailyZReport.day.desc())
        .limit(1)
    ).first()
    since = last.day.strftime("%Y%m%d") if last else ""
    bodies = session.execute(
        select(Invoice.receipt_body).where(
            Invoice.efd_serial == serial,
            Invoice.fiscal_status == FiscalStatus.ACKNOWLEDGED,
            Invoice.znum > since,
            Invoice.znum < day.strftime("%Y%m%d"),
        )
    ).scalars()
    between = day_totals(open_envelope(body)[0] for body in bodies).total_minor
    return (last.gross_minor if last else 0) + between


def _zreport(settings: Settings, day: date, totals: DayTotals, gross_minor: int) -> ZReport:
    d, seller = settings.vfd_device, settings.seller
    return ZReport(
        day=day,
        issued_at=utcnow(),
        header=ZReportHeader(
            seller.get("name", ""),
            seller.get("street") or seller.get("address", ""),
            seller.get("mobile", ""),
            seller.get("city", ""),
            seller.get("country") or "Tanzania",
        ),
        vrn=seller.get("vrn", ""),
        tin=d["tin"],
        tax_office=d.get("tax_office", ""),
        regid=d["regid"],
        efd_serial=d["efd_serial"],
        registration_date=date.fromisoformat(d.get("registration_date") or "2026-01-01"),
        uin=d.get("uin", ""),
        daily_total_minor=totals.total_minor,
        gross_minor=gross_minor,
        tickets_fiscal=totals.tickets,
        vat_totals=totals.vat_totals,
        payments=totals.payments,
    )


def send_pending(runtime: Runtime, client: VfdClient, serial: str) -> int:
    """Post sealed Z reports oldest first until TRA refuses one; how many it acknowledged.

    Under the VFD's drain lease, so a report never overtakes the receipts of its day.
    """
    token = secrets.token_hex(8)
    if not lease_vfd(runtime, serial, token):
        return 0
    done = 0
    try:
        while (head := _next_pending(runtime, serial)) is not None:
            report_id, body = head
            try:
                ack = client.post_zreport(body)
            except VfdError as error:
                _note(runtime, report_id, None, f"{type(error).__name__}: {error}")
                return done
            _note(runtime, report_id, ack.code, ack.message)
            if not ack.accepted:
                return done
            done += 1
    finally:
        release_vfd(runtime, serial, token)
    return done


def _next_pending(runtime: Runtime, serial: str) -> tuple[int, bytes] | None:
    with runtime.sessions() as session:
        row = session.execute(
            select(DailyZReport.id, DailyZReport.body)
            .where(DailyZReport.efd_serial == serial,
                   DailyZReport.status == ZReportStatus.PENDING)
            .order_by(DailyZReport.day)
            .limit(1)
        ).first()  # fmt: skip
    return (row.id, row.body) if row is not None else None


def _note(runtime: Runtime, report_id: int, ack_code: int | None, message: str) -> None:
    with runtime.unit_of_work() as session:
        report = session.get(DailyZReport, report_id, with_for_update=True)
        if report.status is ZReportStatus.ACKNOWLEDGED:
            return
        report.attempts += 1
        report.last_ack_code, report.last_error = ack_code, (message or "")[:500]
        if ack_code != 0:
            log.warning("Z report %s not acknowledged (ACK %s): %s", report.day, ack_code, message)
            return
        report.status, report.acknowledged_at = ZReportStatus.ACKNOWLEDGED, utcnow()
        report.last_error = None
        record(session, actor=SYSTEM, action="zreport.acknowledged", subject_type="zreport",
               subject_id=str(report.id), detail={"day": report.day.isoformat(),
                                                  "attempts": report.attempts})  # fmt: skip


def pending_reports(session: Session, serial: str) -> bool:
    query = select(DailyZReport.id).where(
        DailyZReport.efd_serial == serial, DailyZReport.status == ZReportStatus.PENDING
    )
    return session.execute(query.limit(1)).first() is not None


def list_reports(session: Session, serial: str, limit: int = 60) -> list[DailyZReport]:
    query = (
        select(DailyZReport)
        .where(DailyZReport.efd_serial == serial)
        .order_by(DailyZReport.day.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())
