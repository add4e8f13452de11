"""Time bands (peak, off-peak, weekend) in Dar es Salaam local time.

A band is chosen from the local weekday and time of an instant. Tanzania keeps UTC+3
all year, but the offset comes from zoneinfo so a plan in another zone stays correct.
Lookups are cached per UTC minute (bands start on whole minutes), which keeps the
zoneinfo conversion out of the rating hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

DAR_ES_SALAAM = "Africa/Dar_es_Salaam"
WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class TimeBand:
    """`name` applies on local `days` (0 = Monday) from `start` up to, not including, `end`.

    An `end` at or before `start` wraps past midnight: 19:00-07:00 covers evening and
    early morning of the same local day-of-week.
    """

    name: str
    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.second or self.end.second or self.start.microsecond or self.end.microsecond:
            raise ValueError("time bands start and end on whole minutes")
        if not self.days <= frozenset(range(7)):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")

    def covers(self, weekday: int, clock: time) -> bool:
        if weekday not in self.days:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


@dataclass(frozen=True, slots=True)
class BandSchedule:
    """Bands in priority order; `default` when none covers; public holidays as `holiday_band`."""

    bands: tuple[TimeBand, ...] = ()
    default: str = "standard"
    tz: str = DAR_ES_SALAAM
    holidays: frozenset[date] = frozenset()
    holiday_band: str = "weekend"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _cache: dict[int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", ZoneInfo(self.tz))
        object.__setattr__(self, "_cache", {})

    def band_at(self, moment: datetime) -> str:
        """The band in force at an aware instant."""
        local = moment.astimezone(self._zone)
        if local.date() in self.holidays:
            return self.holiday_band
        clock = local.time().replace(second=0, microsecond=0)
        weekday = local.weekday()
        for band in self.bands:
            if band.covers(weekday, clock):
                return band.name
        return self.default

    def band_at_epoch(self, at_s: int) -> str:
        """As `band_at` for epoch seconds, memoised per minute."""
        minute = at_s // 60
        name = self._cache.get(minute)
        if name is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            name = self.band_at(datetime.fromtimestamp(minute * 60, UTC))
            self._cache[minute] = name
        return name


def peak_offpeak_weekend(
    peak_start: time = time(7), peak_end: time = time(19), holidays: frozenset[date] = frozenset()
) -> BandSchedule:
    """The usual schedule: weekday peak, weekday off-peak, and weekend all day."""
    return BandSchedule(
        bands=(
            TimeBand("weekend", WEEKEND, time(0), time(0)),
            TimeBand("peak", WEEKDAYS, peak_start, peak_end),
        ),
        default="offpeak",
        holidays=holidays,
    )
