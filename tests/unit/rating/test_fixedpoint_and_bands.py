"""Fixed-point rounding and Dar es Salaam time bands."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from billing.rating.fixedpoint import Rounding, round_fraction, to_micro
from billing.rating.timebands import WEEKDAYS, BandSchedule, TimeBand, peak_offpeak_weekend


def test_to_micro_is_exact_and_refuses_floats_and_excess_precision():
    assert to_micro(Decimal("70.81")) == 7_081_000_000
    assert to_micro(Decimal("0.00000002")) == 2  # US$2 per million tokens, per token
    with pytest.raises(TypeError):
        to_micro(0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        to_micro(Decimal("0.000000001"))


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [(Rounding.UP, 2), (Rounding.DOWN, 1), (Rounding.HALF_UP, 2), (Rounding.HALF_EVEN, 2)],
)
def test_exact_halves(rounding, expected):
    # 1.5 minor units exactly; half-even goes to the even neighbour, 2.
    assert round_fraction(3_000_000, 2, 1, rounding) == expected


def test_half_even_rounds_2_5_down_and_half_up_rounds_it_up():
    assert round_fraction(5_000_000, 2, 1, Rounding.HALF_EVEN) == 2
    assert round_fraction(5_000_000, 2, 1, Rounding.HALF_UP) == 3


def test_rounding_to_whole_shillings():
    # 1,234.50 TZS -> 1,235 TZS (step of 100 minor units), down -> 1,234.
    assert round_fraction(123_450_000_000, 1, 100, Rounding.HALF_UP) == 123_500
    assert round_fraction(123_450_000_000, 1, 100, Rounding.DOWN) == 123_400


def test_exact_amounts_are_never_moved():
    for rounding in Rounding:
        assert round_fraction(42_000_000 * 7, 7, 1, rounding) == 42


def test_peak_offpeak_weekend_in_local_time():
    schedule = peak_offpeak_weekend()
    # Monday 2026-03-02: 04:00 UTC is 07:00 EAT (peak starts), 03:59 UTC is 06:59.
    assert schedule.band_at(datetime(2026, 3, 2, 4, 0, tzinfo=UTC)) == "peak"
    assert schedule.band_at(datetime(2026, 3, 2, 3, 59, tzinfo=UTC)) == "offpeak"
    assert schedule.band_at(datetime(2026, 3, 2, 16, 0, tzinfo=UTC)) == "offpeak"  # 19:00


def test_local_day_boundary_decides_weekend():
    schedule = peak_offpeak_weekend()
    # Friday 21:30 UTC is already Saturday 00:30 in Dar es Salaam.
    assert schedule.band_at(datetime(2026, 3, 6, 21, 30, tzinfo=UTC)) == "weekend"
    assert schedule.band_at(datetime(2026, 3, 6, 20, 59, tzinfo=UTC)) == "offpeak"
    # Sunday 21:00 UTC is Monday 00:00 local: the weekend is over.
    assert schedule.band_at(datetime(2026, 3, 8, 21, 0, tzinfo=UTC)) == "offpeak"
    assert schedule.band_at(datetime(2026, 3, 8, 20, 59, tzinfo=UTC)) == "weekend"


def test_epoch_lookup_agrees_with_datetime_lookup():
    schedule = peak_offpeak_weekend()
    for minutes in range(0, 8 * 24 * 60, 97):
        moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes, seconds=59)
        epoch = int(moment.timestamp())
        assert schedule.band_at_epoch(epoch) == schedule.band_at(moment)


def test_holidays_and_wrapping_bands():
    night = TimeBand("night", WEEKDAYS, time(22), time(6))
    schedule = BandSchedule((night,), default="day", holidays=frozenset({date(2026, 4, 26)}))
    assert schedule.band_at(datetime(2026, 3, 2, 20, 0, tzinfo=UTC)) == "night"  # 23:00
    assert schedule.band_at(datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) == "night"  # 05:00
    assert schedule.band_at(datetime(2026, 3, 2, 3, 0, tzinfo=UTC)) == "day"  # 06:00
    # Union Day, a Sunday in 2026: the holiday band, by local date.
    assert schedule.band_at(datetime(2026, 4, 25, 21, 0, tzinfo=UTC)) == "weekend"


def test_bands_must_start_on_whole_minutes():
    with pytest.raises(ValueError):
        TimeBand("x", WEEKDAYS, time(7, 0, 30), time(8))
