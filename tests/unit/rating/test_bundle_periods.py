"""Bundle periods: day, week from Monday, calendar month, in Dar es Salaam local days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from billing.rating.bundles import period_of


@pytest.mark.parametrize(
    ("period", "day", "expected"),
    [
        ("day", date(2026, 3, 2), (date(2026, 3, 2), date(2026, 3, 3))),
        ("week", date(2026, 3, 4), (date(2026, 3, 2), date(2026, 3, 9))),  # Wednesday
        ("week", date(2026, 3, 8), (date(2026, 3, 2), date(2026, 3, 9))),  # Sunday
        ("month", date(2026, 3, 31), (date(2026, 3, 1), date(2026, 4, 1))),
        ("month", date(2026, 12, 15), (date(2026, 12, 1), date(2027, 1, 1))),
        ("month", date(2028, 2, 29), (date(2028, 2, 1), date(2028, 3, 1))),
        ("week", date(2026, 12, 31), (date(2026, 12, 28), date(2027, 1, 4))),
    ],
)
def test_the_period_holding_a_local_day(period, day, expected):
    assert period_of(period, day) == expected


def test_an_instant_counts_in_the_local_day_of_dar_es_salaam():
    # 21:30 UTC on 31 March is 00:30 on 1 April in Dar es Salaam (UTC+3).
    late = datetime(2026, 3, 31, 21, 30, tzinfo=UTC)
    assert period_of("month", late) == (date(2026, 4, 1), date(2026, 5, 1))
    assert period_of("day", datetime(2026, 3, 31, 20, 59, tzinfo=UTC))[0] == date(2026, 3, 31)


def test_an_unknown_period_is_refused():
    with pytest.raises(ValueError, match="fortnight"):
        period_of("fortnight", date(2026, 3, 2))
