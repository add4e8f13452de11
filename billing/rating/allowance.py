"""How much usage a budget pays for: max seconds in whole increments, or max messages.

Pure. Candidates are priced by the rater itself, so an authorisation can never promise
more than rating will charge: a call of `max_seconds` costs at most the budget (connect
fee, first increment, minimum charge, bundles and FX included) and a call one second
longer would not. Billed time only grows at increment edges, so only edges are tried:
the largest affordable edge is found by bisection over the edges up to `cap_s`.
`to_pay(net_minor)` turns a rated net charge into what the budget pays (the wallet pays
net plus VAT).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from billing.rating.bundles import EMPTY, BundleState
from billing.rating.destinations import DestinationTable
from billing.rating.plans import DURATION_SERVICES, DurationRate, RatePlan, Service
from billing.rating.rater import OUT_OF_RANGE, rate_usage
from billing.rating.records import FxRate, RatedUsage, Unrated, UsageRecord

MAX_SESSION_S = 4 * 3600  # an authorisation covers a call of at most 4 hours
MAX_MESSAGES = 100_000
# What a candidate the rater refuses as `price_out_of_range` costs: more than any budget.
_UNAFFORDABLE = 2**63


@dataclass(frozen=True, slots=True)
class Allowance:
    allowed: bool
    reason: str = ""  # why not: insufficient_balance, no_destination, no_rate, short_number…
    max_seconds: int | None = None
    max_messages: int | None = None
    zone: str = ""
    band: str = ""
    first_charge_minor: int | None = None  # what the smallest unit of usage costs the budget


@dataclass(frozen=True, slots=True)
class Request:
    service: Service
    destination: str  # E.164 digits, for routed services
    at: datetime
    segments: int = 1  # SMS: parts per message
    category: str = "marketing"  # WhatsApp template category
    zone: str = ""  # unrouted services (AI minutes, recording)


def allowance(
    request: Request,
    plan: RatePlan,
    destinations: DestinationTable,
    budget_minor: int | None,
    to_pay: Callable[[int], int] = int,
    bundles: BundleState = EMPTY,
    fx: FxRate | None = None,
) -> Allowance:
    """The allowance for `budget_minor` (None: no limit, up to the caps)."""
    pricing = _Pricing(request, plan, destinations, to_pay, bundles, fx)
    if request.service in DURATION_SERVICES:
        return _seconds(pricing, budget_minor)
    return _messages(pricing, budget_minor)


@dataclass(frozen=True, slots=True)
class _Pricing:
    request: Request
    plan: RatePlan
    destinations: DestinationTable
    to_pay: Callable[[int], int]
    bundles: BundleState
    fx: FxRate | None

    def rate(self, seconds: int = 0, units: int = 1) -> RatedUsage | Unrated:
        request = self.request
        record = UsageRecord(
            "authorise",
            request.service,
            request.at,
            request.destination,
            billable_s=seconds,
            units=units,
            zone=request.zone,
            category=request.category,
        )
        return rate_usage(record, self.plan, self.destinations, self.bundles, self.fx)

    def cost(self, seconds: int = 0, units: int = 1) -> int:
        rated = self.rate(seconds, units)
        if isinstance(rated, Unrated) and rated.reason == OUT_OF_RANGE:
            return _UNAFFORDABLE  # longer than the plan's prices can be charged
        if not isinstance(rated, RatedUsage):  # priced once already: cannot happen
            raise AssertionError(f"rating refused a candidate: {rated.reason}")
        return self.to_pay(rated.amount_minor)


def _seconds(pricing: _Pricing, budget: int | None) -> Allowance:
    first = pricing.rate(seconds=1)
    if not isinstance(first, RatedUsage):
        return Allowance(False, first.reason)
    rate = pricing.plan.duration_rate(pricing.request.service, first.zone, first.band)
    if rate is None:  # the rater priced it, so the plan has it
        raise AssertionError("no duration rate for a rated zone")
    first_cost = pricing.cost(seconds=edge(rate, 1))
    best = _largest_affordable(
        lambda k: pricing.cost(seconds=edge(rate, k)),
        first_cost,
        edge_count(rate, MAX_SESSION_S),
        budget,
    )
    common = {"zone": first.zone, "band": first.band, "first_charge_minor": first_cost}
    if best == 0:
        return Allowance(False, "insufficient_balance", max_seconds=0, **common)
    return Allowance(True, max_seconds=edge(rate, best), **common)


def _messages(pricing: _Pricing, budget: int | None) -> Allowance:
    request = pricing.request
    segments = request.segments if request.service is Service.SMS else 1
    first = pricing.rate(units=segments)
    if not isinstance(first, RatedUsage):
        return Allowance(False, first.reason)
    first_cost = pricing.to_pay(first.amount_minor)
    best = _largest_affordable(
        lambda n: pricing.cost(units=n * segments), first_cost, MAX_MESSAGES, budget
    )
    common = {"zone": first.zone, "band": first.band, "first_charge_minor": first_cost}
    if best == 0:
        return Allowance(False, "insufficient_balance", max_messages=0, **common)
    return Allowance(True, max_messages=best, **common)


def _largest_affordable(
    cost: Callable[[int], int], first_cost: int, top: int, budget: int | None
) -> int:
    """The largest k in 1..top with cost(k) <= budget (0 if none); cost never decreases.

    No budget is no limit but the rater's: as far as the charge stays in range."""
    if budget is None:
        budget = _UNAFFORDABLE - 1
    if first_cost > budget:
        return 0
    if cost(top) <= budget:
        return top
    low, high = 1, top  # cost(low) fits, cost(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        if cost(middle) <= budget:
            low = middle
        else:
            high = middle
    return low


def edge(rate: DurationRate, k: int) -> int:
    """The billed length after the k-th increment (k >= 1), across rate groups."""
    groups = rate.groups
    for index, group in enumerate(groups):
        if index == len(groups) - 1:
            return group.start_s + k * group.increment_s
        blocks = (groups[index + 1].start_s - group.start_s) // group.increment_s
        if k <= blocks:
            return group.start_s + k * group.increment_s
        k -= blocks
    raise AssertionError("unreachable: the last group is open-ended")


def edge_count(rate: DurationRate, cap_s: int) -> int:
    """How many increment edges lie at or below `cap_s` (at least one)."""
    count = 0
    groups = rate.groups
    for index, group in enumerate(groups):
        if cap_s <= group.start_s:
            break
        end = cap_s if index == len(groups) - 1 else min(cap_s, groups[index + 1].start_s)
        count += (end - group.start_s) // group.increment_s
    return max(count, 1)
