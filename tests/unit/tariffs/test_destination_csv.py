"""The destination CSV: what a line may hold, and every bad line reported by number."""

from datetime import UTC, datetime, timedelta, timezone

from billing.tariffs.destination_csv import parse_destinations

HEADER = "prefix,zone,name,country,operator,market,valid_from,valid_to\n"


def parse(text: str):
    return parse_destinations(text.splitlines(keepends=True))


def test_good_rows_are_normalised():
    parsed = parse(
        "\ufeff" + HEADER + "+25575,TZ-MOB-VODACOM,Vodacom,tz,vodacom,rest_of_africa,2026-01-01,\n"
        "\n"
        '2552,TZ-FIX,"Fixed, all regions",TZ,,,2026-01-01T00:00:00Z,2027-01-01T03:00:00+03:00\n'
    )
    assert parsed.errors == {}
    mobile, fixed = parsed.rows
    assert (mobile.line, mobile.prefix, mobile.country, mobile.valid_to) == (2, "25575", "TZ", None)
    # A date is local midnight in Dar es Salaam (UTC+3), when tariffs change.
    assert mobile.valid_from == datetime(2025, 12, 31, 21, 0, tzinfo=UTC)
    assert mobile.valid_from.utcoffset() == timedelta(hours=3)
    assert (fixed.line, fixed.name) == (4, "Fixed, all regions")
    assert fixed.valid_to == datetime(2027, 1, 1, tzinfo=UTC)


def test_columns_may_come_in_any_order_and_only_prefix_and_zone_are_required():
    parsed = parse("zone,prefix\nTZ-FIX,2552\n")
    assert parsed.errors == {} and parsed.rows[0].prefix == "2552"
    assert parsed.rows[0].valid_from is None and parsed.rows[0].market == ""


def test_every_bad_line_is_reported_with_its_number():
    parsed = parse(
        HEADER
        + "25575,TZ-MOB-VODACOM,,,,,,\n"  # 2: good
        + "2557x,TZ-MOB,,,,,,\n"  # 3
        + "2557,has space,,,,,,\n"  # 4
        + "2557,TZ-MOB,,TZA,,,,\n"  # 5
        + "2557,TZ-MOB,,,,,2026-13-01,\n"  # 6
        + "2557,TZ-MOB,,,,,2026-01-01T00:00:00,\n"  # 7: no offset
        + "2557,TZ-MOB,,,,,2026-02-01,2026-01-01\n"  # 8: ends before it starts
        + "2557,TZ-MOB\n"  # 9: too few fields
        + "1234567890123456,TZ-MOB,,,,,,\n"  # 10: longer than E.164 allows
        + ",TZ-MOB,,,,,,\n"  # 11: no prefix
        + f"2557,TZ-MOB,{'n' * 101},,,,,\n"  # 12
    )
    assert [row.line for row in parsed.rows] == [2]
    assert sorted(parsed.errors) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "prefix '2557x'" in parsed.errors[3][0]
    assert "zone 'has space'" in parsed.errors[4][0]
    assert "country 'TZA'" in parsed.errors[5][0]
    assert "valid_from '2026-13-01'" in parsed.errors[6][0]
    assert "no UTC offset" in parsed.errors[7][0]
    assert parsed.errors[8] == ["valid_to must be after valid_from"]
    assert "2 fields where the header has 8" in parsed.errors[9][0]
    assert "name is longer than 100" in parsed.errors[12][0]


def test_a_row_with_several_faults_lists_them_all():
    parsed = parse(HEADER + "abc,bad zone,,x1,,,tomorrow,\n")
    assert len(parsed.errors[2]) == 4


def test_quoted_newlines_keep_the_physical_line_numbers():
    parsed = parse(HEADER + '2557,TZ-MOB,"two\nlines",,,,,\n2558,bad zone,,,,,,\n')
    assert parsed.rows[0].name == "two\nlines"
    assert list(parsed.errors) == [4]


def test_header_problems_are_line_one():
    assert parse("").errors == {1: ["the file is empty: the first line must be the header"]}
    errors = parse("prefix,tariff\n2557,X\n").errors
    assert errors == {1: ["unknown column 'tariff'", "missing column 'zone'"]}
    assert parse("prefix,zone,zone\n").errors == {1: ["a column is named twice"]}


def test_offsets_other_than_dar_are_kept_as_given():
    parsed = parse("prefix,zone,valid_from\n2557,TZ-MOB,2026-01-01T00:00:00+01:00\n")
    assert parsed.rows[0].valid_from.utcoffset() == timezone(timedelta(hours=1)).utcoffset(None)
