"""Rows sent by the parsing process as tuples (billing.usage.wire) come back as the very
dicts `imports._row` builds, on every CDR format, through pickling as the pipe does."""

import io
import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from billing.usage.events import UsageEvent
from billing.usage.formats.asterisk import SOURCE
from billing.usage.imports import ImportOptions, _row, parse
from billing.usage.wire import _seconds, event_dict, event_wire, rows_from_wire, voice_wire

ASTERISK = (
    '"acme","0712345678","0754000111","from-internal","""Juma"" <0712345678>",'
    '"SIP/100-0001","SIP/trunk-0002","Dial","SIP/trunk/0754000111,30",'
    '"2026-03-02 12:00:00","2026-03-02 12:00:05","2026-03-02 12:01:06",66,61,"ANSWERED",'
    '"DOCUMENTATION"'
)
UNANSWERED = (
    '"","0712345678","+254712000111","from-internal","""Juma"" <0712345678>",'
    '"SIP/100-0003","SIP/trunk-0004","Dial","SIP/trunk/254712000111,30",'
    '"1969-12-31 23:05:00",,"1969-12-31 23:05:20",20,0,"NO ANSWER","DOCUMENTATION"'
)
FREESWITCH = (
    '"Juma","0712345678","0754000111","default","2026-03-02 12:00:00","2026-03-02 12:00:05",'
    '"2026-03-02 12:01:06","66","61","NORMAL_CLEARING","a1b2","b-leg-1","acme","PCMA","PCMA"\n'
    '"Juma","0712345678","0754000111","default","2026-03-02 12:00:00","",'
    '"2026-03-02 12:01:06","66","0","NO_ANSWER","a1b3","b-leg-1","acme","PCMA","PCMA"\n'
)
GENERIC = (
    "source_id,service,to,started_at,billable_s,units,category,pricing_type,extra\n"
    "c1,voice,0712345678,2026-03-02T12:00:00+03:00,61,,,,x\n"
    "c2,voice,0712345678,2026-03-02T12:00:00.250000+03:00,61,,,,\n"  # microseconds
    "s1,sms,+255754000111,2026-03-02T09:00:00Z,,3,,,\n"
    "w1,whatsapp,255754000111,2026-03-02 12:00:00,,,marketing,free_customer_service,\n"
    "bad,voice,0712345678,not a time,1,,,,\n"
)
LONG = ',"u.1","p","' + "L" * 300 + '","3"\n'  # newcdrcolumns: a linkedid past 200
CASES = [
    ("asterisk", ASTERISK + ',"1772442000.1","vip"\n' + UNANSWERED + ',"","x"\n"broken"\n', None),
    ("asterisk", ASTERISK + '\n"x"' + "," * 17 + "\n", ImportOptions(False, False, False, True)),
    ("asterisk", ASTERISK + LONG, ImportOptions(True, False, True)),
    ("freeswitch", FREESWITCH + '"short","row"\n', None),
    ("generic", GENERIC, None),
]  # fmt: skip


def _sent(item, tenant_id):
    """As the parsing process does (billing.usage.parsing._parse), then the importer."""
    if item.__class__ is tuple:  # made by voice_wire
        return item
    if item.__class__ is UsageEvent:
        return event_wire(item, tenant_id or item.account or None)
    return _row(item, tenant_id)


@pytest.mark.parametrize(("fmt", "text", "options"), CASES)
@pytest.mark.parametrize("tenant_id", [None, "ten_given"])
def test_every_format_arrives_as_the_importer_would_have_parsed_it(
    fmt, text, options, tenant_id, monkeypatch
):
    now = datetime(2026, 3, 2, 9, 30, 0, 123, tzinfo=UTC)  # a rejected row's stamps
    monkeypatch.setattr("billing.usage.intake_rows.utcnow", lambda: now)
    items = list(parse(fmt, io.StringIO(text, newline=""), options))
    expected = [_row(item, tenant_id) for item in items]
    built = parse(fmt, io.StringIO(text, newline=""), options, voice_wire(SOURCE, tenant_id))
    sent = pickle.loads(pickle.dumps([_sent(item, tenant_id) for item in built], protocol=5))
    got = rows_from_wire(sent)
    assert got == expected
    for row, want in zip(got, expected, strict=True):
        assert list(row) == list(want)  # the same keys, in the same order
        for name, value in want.items():
            assert type(row[name]) is type(value), name
            if isinstance(value, datetime):
                assert row[name].tzinfo is value.tzinfo, name
    assert any(type(item) is tuple for item in sent)  # events did go as tuples
    if fmt == "asterisk":  # and Asterisk's were made so straight away, the rest as events
        again = parse(fmt, io.StringIO(text), options, voice_wire(SOURCE, tenant_id))
        assert not any(type(item) is UsageEvent for item in again)


def test_stamps_that_are_not_whole_utc_seconds_travel_as_they_are():
    (event,) = [e for e in parse("asterisk", io.StringIO(ASTERISK + ',"u","v"\n', newline=""))]
    odd = replace(
        event,
        started_at=event.started_at + timedelta(microseconds=1),
        answered_at=event.answered_at.astimezone(timezone(timedelta(hours=3))),
        ended_at=None,
    )
    row = event_dict(pickle.loads(pickle.dumps(event_wire(odd, "t"))))
    want = _row(odd, "t")
    assert row == want
    assert row["answered_at"].utcoffset() == timedelta(hours=3)
    assert row["started_at"].microsecond == 1 and row["ended_at"] is None


@pytest.mark.parametrize(
    "moment",
    [datetime(1901, 1, 1, tzinfo=UTC), datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)],
)
def test_the_epoch_seconds_are_exact_far_from_1970(moment):
    sent = _seconds(moment)
    assert type(sent) is int
    values = ("s", "i", None, "voice", "", "", sent, sent, sent, 0, 0, 1, "ANSWERED", "", "")
    assert event_dict((*values, "", ""))["started_at"] == moment
