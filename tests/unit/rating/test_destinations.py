"""Longest-prefix destinations with effective dates."""

from datetime import UTC, datetime

import pytest

from billing.rating.destinations import Destination, DestinationTable

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def table():
    return DestinationTable(
        [
            Destination("255", "TZ-FIX", "TZ"),
            Destination("2557", "TZ-MOB", "TZ"),
            Destination("25574", "TZ-MOB-VODACOM", "TZ", "Vodacom"),
            Destination("25478", "KE-MOB", "KE"),
            Destination("1", "NANP"),
        ]
    )


def test_longest_prefix_wins(table):
    assert table.match("255742000000", NOW).zone == "TZ-MOB-VODACOM"
    assert table.match("255712000000", NOW).zone == "TZ-MOB"
    assert table.match("255222000000", NOW).zone == "TZ-FIX"
    assert table.match("12025550123", NOW).zone == "NANP"


def test_unknown_number_has_no_destination(table):
    assert table.match("447700900000", NOW) is None


def test_number_shorter_than_a_prefix_falls_back(table):
    assert table.match("2557", NOW).zone == "TZ-MOB"


def test_effective_dates_pick_the_row_in_force_and_fall_back_when_none_is():
    cutover = datetime(2026, 4, 1, tzinfo=UTC)
    table = DestinationTable(
        [
            Destination("2556", "TZ-MOB"),
            Destination("25565", "TZ-MOB-TIGO", effective_to=cutover),
            Destination("25565", "TZ-MOB-YAS", effective_from=cutover),
            Destination("25569", "TZ-MOB-NEW", effective_from=cutover),
        ]
    )
    before, after = datetime(2026, 3, 31, 23, 59, tzinfo=UTC), cutover
    assert table.match("255650000000", before).zone == "TZ-MOB-TIGO"
    assert table.match("255650000000", after).zone == "TZ-MOB-YAS"
    # A prefix not yet in force is skipped for the next-longest one.
    assert table.match("255690000000", before).zone == "TZ-MOB"
    assert table.match("255690000000", after).zone == "TZ-MOB-NEW"


def test_rejects_bad_rows_and_naive_instants(table):
    with pytest.raises(ValueError):
        Destination("+255", "X")
    with pytest.raises(ValueError):
        Destination("255", "X", effective_from=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        table.match("255712000000", datetime(2026, 1, 1))


def test_large_table_loads_and_matches():
    rows = [Destination(str(100000 + index), f"Z{index % 50}") for index in range(100_000)]
    table = DestinationTable(rows)
    assert len(table) == 100_000
    assert table.match("1054321999", NOW).zone == f"Z{5432 % 50}"
