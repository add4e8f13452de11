"""Bundle balances: free units left per bundle in the current period.

The state is a value: rating reads it and reports draws; the caller persists
`state.after(draws)` in the same transaction as the rated usage. A bundle's period
(day, week from Monday, calendar month) is counted in local days of
Africa/Dar_es_Salaam: `period_of` says which period an instant falls in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from billing.rating.plans import RatePlan, Service
from billing.rating.timebands import DAR_ES_SALAAM

BUNDLE_ZONE = ZoneInfo(DAR_ES_SALAAM)


@dataclass(frozen=True, slots=True)
class BundleState:
    remaining: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if any(units < 0 for units in self.remaining.values()):
            raise ValueError("a bundle cannot hold negative units")
        object.__setattr__(self, "remaining", MappingProxyType(dict(self.remaining)))

    @classmethod
    def fresh(cls, plan: RatePlan) -> BundleState:
        """Every bundle of the plan full, as at the start of a period."""
        return cls({bundle.name: bundle.units for bundle in plan.bundles})

    def after(self, draws: tuple[tuple[str, int], ...]) -> BundleState:
        remaining = dict(self.remaining)
        for name, units in draws:
            remaining[name] -= units
        return BundleState(remaining)


EMPTY = BundleState()


def draw(
    plan: RatePlan, state: BundleState, service: Service, zone: str, category: str, wanted: int
) -> tuple[tuple[str, int], ...]:
    """Take up to `wanted` units from the bundles covering this usage, in plan order."""
    draws = []
    for bundle in plan.bundles:
        if wanted <= 0:
            break
        left = state.remaining.get(bundle.name, 0)
        if left <= 0 or not bundle.covers(service, zone, category):
            continue
        taken = min(left, wanted)
        draws.append((bundle.name, taken))
        wanted -= taken
    return tuple(draws)


def period_of(period: str, at: datetime | date) -> tuple[date, date]:
    """The local days `[start, end)` of the bundle period holding `at` (an aware instant
    or a local day)."""
    day = at.astimezone(BUNDLE_ZONE).date() if isinstance(at, datetime) else at
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        return start, (start + timedelta(days=32)).replace(day=1)
    raise ValueError(f"unknown bundle period {period!r}")
