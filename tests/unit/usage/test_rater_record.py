"""A stored (or about to be stored) usage row read as the pure rater's record."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from billing.rating.plans import Service
from billing.rating.records import UsageRecord
from billing.usage.rating import rater_record

AT = datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC)


def row(**changes) -> SimpleNamespace:
    fields = {"id": 41, "service": "voice", "occurred_at": AT, "to_number": "255712345678",
              "billable_s": 65, "answered_at": AT, "units": 1, "category": "",
              "pricing_type": "regular"}  # fmt: skip
    return SimpleNamespace(**{**fields, **changes})


def test_each_field_lands_where_the_record_names_it():
    record = rater_record(row(service="whatsapp", category="marketing", pricing_type="pmp"))
    assert record == UsageRecord(
        source_id="41",
        service=Service.WHATSAPP,
        started_at=AT,
        destination="255712345678",
        billable_s=65,
        answered=True,
        units=1,
        category="marketing",
        pricing_type="pmp",
    )
    assert (record.zone, record.market) == ("", "")


def test_a_call_with_no_answer_time_and_no_billed_seconds_is_unanswered():
    assert rater_record(row(billable_s=0, answered_at=None)).answered is False
    assert rater_record(row(billable_s=0)).answered is True
