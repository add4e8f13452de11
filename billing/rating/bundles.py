"""Bundle balances: free units left per bundle in the current period.

The state is a value: rating reads it and reports draws; the caller persists
`state.after(draws)` in the same transaction as the rated usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from billing.rating.plans import RatePlan, Service


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
