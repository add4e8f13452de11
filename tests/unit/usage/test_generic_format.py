"""The generic usage CSV and number normalisation."""

import io
from datetime import UTC, datetime

from billing.rating.plans import Service
from billing.usage.events import Disposition, Reject, UsageEvent
from billing.usage.formats.generic import parse
from billing.usage.numbers import to_e164

HEADER = "source_id,service,to,started_at,billable_s,units,category,pricing_type,extra\n"


def parsed(body: str, header: str = HEADER) -> list:
    return list(parse(io.StringIO(header + body, newline="")))


def test_mixed_services_with_offsets_and_local_times():
    rows = parsed(
        "c1,voice,0712345678,2026-03-02T12:00:00+03:00,61,,,,x\n"
        "s1,sms,+255754000111,2026-03-02T09:00:00Z,,3,,,\n"
        "w1,whatsapp,255754000111,2026-03-02 12:00:00,,,marketing,regular,\n"
    )
    voice, sms, whatsapp = rows
    assert voice.service is Service.VOICE and voice.billable_s == 61
    assert voice.disposition is Disposition.ANSWERED
    assert voice.started_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert sms.units == 3 and sms.to_number == "255754000111"
    # No offset: read in Dar es Salaam time.
    assert whatsapp.started_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert whatsapp.category == "marketing"
    assert whatsapp.to_usage_record().service is Service.WHATSAPP


def test_voice_without_billable_seconds_is_no_answer():
    (event,) = parsed("c2,voice,0712345678,2026-03-02T12:00:00+03:00,0,,,,\n")
    assert event.disposition is Disposition.NO_ANSWER and not event.answered


def test_header_without_required_columns_rejects_once():
    results = parsed("1,2\n", header="id,when\n")
    assert len(results) == 1 and isinstance(results[0], Reject)
    assert "source_id" in results[0].reason


def test_bad_rows_are_rejected_with_reasons():
    results = parsed(
        "c1,fax,0712345678,2026-03-02T12:00:00Z,,,,,\n"
        "c2,voice,0712345678,yesterday,,,,,\n"
        "c3,voice,0712345678,2026-03-02T12:00:00Z,-5,,,,\n"
        "c4,voice,0712345678\n"
        ",sms,0712345678,2026-03-02T12:00:00Z,,,,,\n"
        "c6,sms,0712345678,2026-03-02T12:00:00Z,,,,,\n"
    )
    assert [type(result) for result in results] == [Reject] * 5 + [UsageEvent]
    reasons = [result.reason for result in results[:5]]
    assert reasons[0].startswith("unknown service")
    assert reasons[1].startswith("bad started_at")
    assert reasons[2] == "negative billable_s"
    assert reasons[3] == "column count differs from header"
    assert reasons[4] == "no source_id"
    assert [result.line_no for result in results] == [2, 3, 4, 5, 6, 7]


def test_number_normalisation():
    assert to_e164("0712 345 678") == "255712345678"
    assert to_e164("+255-712-345678") == "255712345678"
    assert to_e164("255712345678") == "255712345678"
    assert to_e164("00044 20 7946 0000") == "442079460000"
    assert to_e164("005712345678") == "254712345678"
    assert to_e164("006712345678") == "256712345678"
    assert to_e164("1001") == "1001"
    assert to_e164("anonymous") == ""
