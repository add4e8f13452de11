"""Asterisk Master.csv: column variants, quoting, empty answer, local time vs UTC."""

import io
from datetime import UTC, datetime

import pytest

from billing.rating.plans import Service
from billing.usage.events import Disposition, Reject, UsageEvent
from billing.usage.formats.asterisk import AsteriskProfile, parse

BASE = (
    '"acme","0712345678","0754000111","from-internal","""Juma"" <0712345678>",'
    '"SIP/100-0001","SIP/trunk-0002","Dial","SIP/trunk/0754000111,30",'
    '"2026-03-02 12:00:00","2026-03-02 12:00:05","2026-03-02 12:01:06",66,61,"ANSWERED",'
    '"DOCUMENTATION"'
)
UNANSWERED = (
    '"acme","0712345678","+254712000111","from-internal","""Juma"" <0712345678>",'
    '"SIP/100-0003","SIP/trunk-0004","Dial","SIP/trunk/254712000111,30",'
    '"2026-03-02 12:05:00",,"2026-03-02 12:05:20",20,0,"NO ANSWER","DOCUMENTATION"'
)


def events(text: str, profile: AsteriskProfile) -> list:
    return list(parse(io.StringIO(text, newline=""), profile))


def test_sample_conf_layout_with_uniqueid_and_userfield():
    line = BASE + ',"1772442000.1","vip"\n'
    (event,) = events(line, AsteriskProfile())
    assert isinstance(event, UsageEvent)
    assert event.source_id == "1772442000.1"
    assert event.to_number == "255754000111"
    assert event.service is Service.VOICE
    # 12:00 local in Dar es Salaam is 09:00 UTC.
    assert event.started_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert event.answered_at == datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)
    assert (event.duration_s, event.billable_s, event.disposition) == (66, 61, "ANSWERED")
    assert event.account == "acme" and event.line_no == 1


@pytest.mark.parametrize(
    ("profile", "extra"),
    [
        (AsteriskProfile(loguniqueid=False, loguserfield=False), ""),
        (AsteriskProfile(loguniqueid=True, loguserfield=False), ',"u1"'),
        (AsteriskProfile(loguniqueid=False, loguserfield=True), ',"note"'),
        (AsteriskProfile(), ',"u1","note"'),
        (AsteriskProfile(newcdrcolumns=True), ',"u1","note","peer","1772442000.0",7'),
    ],
)
def test_column_variants_from_16_to_21(profile, extra):
    assert len(profile.columns) == 16 + extra.count(",")
    (event,) = events(BASE + extra + "\n", profile)
    assert isinstance(event, UsageEvent), event
    assert event.billable_s == 61


def test_linkedid_groups_legs_under_newcdrcolumns():
    (event,) = events(BASE + ',"u2","","peer","1772442000.0",3\n', AsteriskProfile(
        newcdrcolumns=True))  # fmt: skip
    assert event.linked_id == "1772442000.0"


def test_without_uniqueid_the_channel_and_start_make_the_key():
    profile = AsteriskProfile(loguniqueid=False, loguserfield=False)
    (event,) = events(BASE + "\n", profile)
    assert event.source_id == "SIP/100-0001@2026-03-02T09:00:00+00:00"


def test_empty_unquoted_answer_time_is_unanswered():
    (event,) = events(UNANSWERED + ',"u3",""\n', AsteriskProfile())
    assert event.answered_at is None and not event.answered
    assert event.disposition is Disposition.NO_ANSWER
    assert event.to_number == "254712000111"
    assert event.to_usage_record().answered is False


def test_usegmtime_reads_stamps_as_utc():
    (event,) = events(BASE + ',"u1",""\n', AsteriskProfile(usegmtime=True))
    assert event.started_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_numeric_dispositions_of_asterisk_21():
    line = BASE.replace('"ANSWERED"', "8") + ',"u1",""\n'
    assert events(line, AsteriskProfile())[0].disposition is Disposition.ANSWERED
    busy = UNANSWERED.replace('"NO ANSWER"', "4") + ',"u1",""\n'
    assert events(busy, AsteriskProfile())[0].disposition is Disposition.BUSY


def test_malformed_rows_are_rejected_with_line_numbers_and_the_rest_parsed():
    good = BASE + ',"u1",""\n'
    lines = [
        good,
        BASE + "\n",  # 16 columns where the profile expects 18
        good.replace(",66,61,", ",66,abc,"),
        good.replace(",66,61,", ",60,61,"),  # billsec > duration
        good.replace('"2026-03-02 12:00:00"', '"02/03/2026 12:00"'),
        good.replace('"ANSWERED"', '"WHATEVER"'),
        UNANSWERED.replace(",20,0,", ",20,5,") + ',"u9",""\n',  # billsec with no answer
        good,
    ]
    results = events("".join(lines), AsteriskProfile())
    assert [type(result).__name__ for result in results] == ["UsageEvent"] + ["Reject"] * 6 + [
        "UsageEvent"
    ]
    rejects = [result for result in results if isinstance(result, Reject)]
    assert [reject.line_no for reject in rejects] == [2, 3, 4, 5, 6, 7]
    assert "expected 18 columns, got 16" in rejects[0].reason
    assert "billsec" in rejects[1].reason
    assert rejects[2].reason == "billsec exceeds duration"
    assert rejects[0].raw[0] == "acme"


def test_unterminated_quote_is_a_reject_not_an_exception():
    results = events(BASE + ',"u1","bad\n', AsteriskProfile())
    assert len(results) == 1 and isinstance(results[0], Reject)


def test_streams_lazily():
    lines = iter([BASE + ',"u1",""\n', "garbage\n"])
    stream = parse(lines, AsteriskProfile())
    assert isinstance(next(stream), UsageEvent)
    assert next(lines, None) == "garbage\n"  # the second line was not read ahead


def test_stamps_follow_the_zones_offset_on_each_side_of_a_clock_change():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from billing.usage.formats.fields import stamp

    london = ZoneInfo("Europe/London")  # clocks go forward at 01:00 UTC on 29 March 2026
    assert stamp("2026-03-29 00:30:00", london, "start") == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert stamp("2026-03-29 02:30:00", london, "start") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    dar = ZoneInfo("Africa/Dar_es_Salaam")
    assert stamp(" 2026-03-02 09:00:05 ", dar, "start") == datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC)
    for bad in (
        "2026-03-02T09:00:05",
        "2026-3-2 9:00:05",
        "02/03/2026 09:00",
        "2026-13-02 09:00:05",
        "2026-03-02 09+03:00",  # its own offset: the zone decides, never the stamp
    ):
        with pytest.raises(ValueError, match="bad start time"):
            stamp(bad, dar, "start")


def test_a_stamp_is_utc_aware_whatever_the_zone():
    from zoneinfo import ZoneInfo

    from billing.usage.formats.fields import stamp

    moment = stamp("2026-03-02 09:00:05", ZoneInfo("Africa/Dar_es_Salaam"), "start")
    assert moment.tzinfo is UTC and moment.isoformat() == "2026-03-02T06:00:05+00:00"
    assert stamp("2026-03-02 09:00:05", UTC, "start").isoformat() == "2026-03-02T09:00:05+00:00"
