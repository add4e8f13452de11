"""Gapless numbers on real PostgreSQL: racing finalisations and rolled-back ones."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select, update

from billing.core.errors import Conflict
from billing.invoicing import service
from billing.invoicing.models import Invoice, InvoiceSeries, VfdCounter

pytestmark = pytest.mark.integration


def finalise(runtime, invoice_id: str) -> Invoice:
    with runtime.unit_of_work() as session:
        return service.finalise(session, runtime.settings, "stf_test", invoice_id)


def test_twenty_concurrent_finalisations_take_twenty_consecutive_numbers(
    fiscal_runtime, fiscal_app, postpaid_draft
):
    drafts = [postpaid_draft(fiscal_runtime, records=1)[1] for _ in range(20)]
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def race(invoice_id: str) -> None:
        with fiscal_app.app_context():
            barrier.wait()
            try:
                finalise(fiscal_runtime, invoice_id)
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=race, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with fiscal_runtime.sessions() as session:
        rows = session.execute(
            select(Invoice.number, Invoice.number_text, Invoice.gc).where(Invoice.id.in_(drafts))
        ).all()
    numbers = sorted(row.number for row in rows)
    assert len(set(numbers)) == 20
    assert numbers == list(range(numbers[0], numbers[0] + 20))
    gcs = sorted(row.gc for row in rows)
    assert gcs == list(range(gcs[0], gcs[0] + 20))
    assert all(row.number_text == f"INV-{row.number:06d}" for row in rows)


def test_a_rolled_back_finalisation_leaves_no_gap(fiscal_runtime, postpaid_draft):
    _tenant, first = postpaid_draft(fiscal_runtime)
    _tenant, second = postpaid_draft(fiscal_runtime)
    with fiscal_runtime.sessions() as session:
        session.begin()
        taken = service.finalise(session, fiscal_runtime.settings, "stf_test", first)
        number, gc = taken.number, taken.gc
        session.rollback()
    with fiscal_runtime.sessions() as session:
        assert session.get(Invoice, first).number is None
    assert finalise(fiscal_runtime, second).number == number
    with fiscal_runtime.sessions() as session:
        assert session.get(Invoice, second).gc == gc
    assert finalise(fiscal_runtime, first).number == number + 1


def test_a_draft_is_finalised_once(fiscal_runtime, postpaid_draft):
    _tenant, draft = postpaid_draft(fiscal_runtime)
    number = finalise(fiscal_runtime, draft).number
    with pytest.raises(Conflict):
        finalise(fiscal_runtime, draft)
    with fiscal_runtime.sessions() as session:
        assert session.get(Invoice, draft).number == number
        series = session.get(InvoiceSeries, "INV")
        assert series.last_number >= number


def test_postgresql_refuses_changes_to_a_finalised_invoice(fiscal_runtime, postpaid_draft):
    from sqlalchemy.exc import DBAPIError

    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    for change in ({"gross_minor": 1}, {"number": 999_999}, {"status": "void"}):
        with fiscal_runtime.sessions() as session, pytest.raises(DBAPIError, match="is final"):
            session.execute(update(Invoice).where(Invoice.id == draft).values(**change))
            session.commit()


def test_receipt_counters_restart_the_daily_counter_each_day(fiscal_runtime):
    from billing.invoicing.numbering import next_receipt_counters

    serial = f"10TZ{uuid.uuid4().hex[:8]}"
    with fiscal_runtime.unit_of_work() as session:
        assert next_receipt_counters(session, serial, "2026-10-01") == (1, 1)
        assert next_receipt_counters(session, serial, "2026-10-01") == (2, 2)
        assert next_receipt_counters(session, serial, "2026-10-02") == (3, 1)
    with pytest.raises(RuntimeError, match="clock went back"), fiscal_runtime.unit_of_work() as s:
        next_receipt_counters(s, serial, "2026-09-30")
    with fiscal_runtime.sessions() as session:
        assert session.get(VfdCounter, serial).last_gc == 3


def test_racing_finalisations_half_rolled_back_leave_no_gap(
    fiscal_runtime, fiscal_app, postpaid_draft
):
    drafts = [postpaid_draft(fiscal_runtime, records=1)[1] for _ in range(12)]
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def race(index: int, invoice_id: str) -> None:
        with fiscal_app.app_context(), fiscal_runtime.sessions() as session:
            barrier.wait()
            try:
                session.begin()
                service.finalise(session, fiscal_runtime.settings, "stf_test", invoice_id)
                if index % 2:
                    session.rollback()  # e.g. the request failed after numbering
                else:
                    session.commit()
                    fiscal_runtime.relay_written(session)  # its render and fiscalise jobs
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=race, args=(i, d)) for i, d in enumerate(drafts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    def numbers(ids):
        with fiscal_runtime.sessions() as session:
            rows = session.execute(
                select(Invoice.number, Invoice.gc).where(Invoice.id.in_(ids))
            ).all()
            return sorted(r.number for r in rows if r.number), sorted(r.gc for r in rows if r.gc)

    kept, gcs = numbers(drafts)
    assert len(kept) == 6 and kept == list(range(kept[0], kept[0] + 6))
    assert gcs == list(range(gcs[0], gcs[0] + 6))
    for invoice_id in drafts[1::2]:  # the rolled-back ones, finalised again
        finalise(fiscal_runtime, invoice_id)
    every, gcs = numbers(drafts)
    assert every == list(range(kept[0], kept[0] + 12))
    assert gcs == list(range(gcs[0], gcs[0] + 12))
