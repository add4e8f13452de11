"""Gapless numbers: taken in the finalising transaction from a locked counter row.

`UPDATE … SET last_number = last_number + 1 RETURNING` holds the row lock until the
transaction ends, so racing finalisations queue; a rollback undoes the increment, so
the next one takes the same number. Lock order is always series, then VFD counter.
"""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from billing.core.db import insert_for
from billing.invoicing.models import InvoiceSeries, VfdCounter
from billing.invoicing.states import DocumentKind, InvoiceSource

_series = InvoiceSeries.__table__
_counters = VfdCounter.__table__


def series_for(kind: DocumentKind, source: InvoiceSource) -> str:
    """Tax invoices `INV`, prepaid receipts `RCP`, adjustment notes `CN` (their own series)."""
    if kind is DocumentKind.CREDIT_NOTE:
        return "CN"
    return "RCP" if source is InvoiceSource.TOPUP else "INV"


def format_number(series: str, number: int) -> str:
    return f"{series}-{number:06d}"


def next_number(session: Session, series: str) -> int:
    bump = (
        update(_series)
        .where(_series.c.code == series)
        .values(last_number=_series.c.last_number + 1)
        .returning(_series.c.last_number)
    )
    number = session.execute(bump).scalar()
    if number is None:  # the series' first number: make its row, then take it
        _ensure(session, _series, code=series, last_number=0)
        number = session.execute(bump).scalar_one()
    return number


def next_receipt_counters(session: Session, efd_serial: str, day: str) -> tuple[int, int]:
    """(GC, DC) for a receipt dated `day` (YYYY-MM-DD, EAT): GC + 1; DC + 1, or 1 on a new day.

    One statement: the row lock, both counters and the day, or nothing if the clock went back.
    """
    bump = (
        update(_counters)
        .where(_counters.c.efd_serial == efd_serial, _counters.c.last_day <= day)
        .values(
            last_gc=_counters.c.last_gc + 1,
            last_dc=case((_counters.c.last_day == day, _counters.c.last_dc + 1), else_=1),
            last_day=day,
        )
        .returning(_counters.c.last_gc, _counters.c.last_dc)
    )
    row = session.execute(bump).first()
    if row is None:
        _ensure(session, _counters, efd_serial=efd_serial, last_gc=0, last_day="", last_dc=0)
        row = session.execute(bump).first()
    if row is None:
        last = session.execute(
            select(_counters.c.last_day).where(_counters.c.efd_serial == efd_serial)
        ).scalar()
        raise RuntimeError(f"the clock went back: last receipt {last}, this one {day}")
    return row.last_gc, row.last_dc


def _ensure(session: Session, table, **row) -> None:
    session.execute(insert_for(session, table).values(**row).on_conflict_do_nothing())
