"""The rater: (usage record, plan, destinations, bundle state, FX) -> rated usage.

Pure and deterministic. Timed usage follows the CGRateS model: unanswered calls and
calls within the no-charge time cost nothing; otherwise each rate group bills its share
of the billable seconds in whole increments, plus a connect fee, with a minimum charge.
Bundles cover the first billed units of a record, so a record that runs past a bundle
is split: its head is free and its tail is charged at the groups it falls in. The raw
amount is an exact rational in micro-minor units, converted by the FX rate if any, and
rounded once, at the end, by the plan's rule.

Speed: everything a record's price depends on besides its own numbers is worked out
once per (plan, FX) and (service, zone, category[, market], band) and kept in a `View`
(see `billing.rating.pricing`). A record no bundle touches is then priced by its
billable seconds or units alone (as is a call the first covering bundle holds whole), so
the rated fields after the record id (the "tail") are memoised per view and quantity,
within a process-wide budget: most records cost a prefix match, a few dict probes and
one tuple. Misses take the arithmetic, which gives the very same fields.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping

from billing.rating.bundles import EMPTY, BundleState
from billing.rating.destinations import DestinationTable
from billing.rating.plans import (
    ANY,
    DURATION_SERVICES,
    ROUTED_SERVICES,
    WHATSAPP_SERVICE_CHARGED_FROM,
    DurationRate,
    RatePlan,
    Service,
)
from billing.rating.pricing import Context, Tail, View, context
from billing.rating.records import FxRate, Piece, RatedUsage, Unrated, UsageRecord

# RatedUsage is built as tuple.__new__(RatedUsage, (id,) + tail): NamedTuple's own __new__
# is Python code, and a concatenation is cheaper than (id, *tail), which goes via a list.
_new_tuple = tuple.__new__
_WHATSAPP = Service.WHATSAPP  # a module constant: Enum class attributes are slow to read
MIN_NUMBER_DIGITS = 7  # the shortest E.164 numbers in use (e.g. Niue) have 7 digits
# Positions in a `Tail` (RatedUsage less its first field, the record id).
_AMOUNT, _BILLED, _FREE, _DRAWS = 4, 7, 8, 10
# The largest charge one record may carry, in minor units (TZS 10 billion): its VAT and a
# batch of 100,000 such charges still fit a bigint column and Decimal's 28 digits, so a
# plan priced absurdly (a rate of 1E+28) refuses its records instead of overflowing.
MAX_CHARGE_MINOR = 10**12
OUT_OF_RANGE = "price_out_of_range"


def rate_usage(
    record: UsageRecord,
    plan: RatePlan,
    destinations: DestinationTable,
    bundles: BundleState = EMPTY,
    fx: FxRate | None = None,
) -> RatedUsage | Unrated:
    """Price one record. Unpriceable records come back as `Unrated` with a reason."""
    return _rate(record, context(plan, fx), destinations, bundles.remaining)


def rate_many(
    records: Iterable[UsageRecord],
    plan: RatePlan,
    destinations: DestinationTable,
    bundles: BundleState = EMPTY,
    fx: FxRate | None = None,
) -> list[RatedUsage | Unrated]:
    """`rate_usage` over a batch, with the cyclic garbage collector paused meanwhile.

    Rating allocates only acyclic tuples, which reference counting frees; but every
    result kept counts towards the collector's thresholds, and in a batch of 100,000
    its passes over the growing result list cost a third of the rating time. Pausing it
    loses nothing: there are no cycles to find. It is restored as it was, even on error.
    """
    ctx = context(plan, fx)
    remaining = bundles.remaining
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return [_rate(record, ctx, destinations, remaining) for record in records]
    finally:
        if paused:
            gc.enable()


def billed_pieces(rate: DurationRate, billable_s: int) -> list[tuple[int, int, int, int]]:
    """(start_s, increment_s, increments, rate_micro) per rate group the call reaches."""
    pieces = []
    for start, size, rate_micro, end in rate.spans:
        if billable_s <= start:
            break
        stop = billable_s if end is None or billable_s < end else end
        pieces.append((start, size, -(-(stop - start) // size), rate_micro))
    return pieces


def rate_tails(
    records: Iterable[UsageRecord], plan: RatePlan, destinations: DestinationTable
) -> list[Tail | Unrated]:
    """`rate_many` with no bundle and no FX, each priced record as its tail (its rated
    fields after the record id): the very object kept for every record priced alike
    while the memo holds it, so a caller may key what it makes of a price by identity."""
    ctx = context(plan, None)
    remaining = EMPTY.remaining
    return [_tail(record, ctx, destinations, remaining) for record in records]


def _rate(
    record: UsageRecord, ctx: Context, destinations: DestinationTable, remaining: Mapping[str, int]
) -> RatedUsage | Unrated:
    tail = _tail(record, ctx, destinations, remaining)
    if tail.__class__ is Unrated:
        return tail
    return _new_tuple(RatedUsage, (record.source_id,) + tail)  # noqa: RUF005


def _tail(
    record: UsageRecord, ctx: Context, destinations: DestinationTable, remaining: Mapping[str, int]
) -> Tail | Unrated:
    """The record's tail, or `price_out_of_range` when its charge exceeds
    `MAX_CHARGE_MINOR`."""
    tail = _priced(record, ctx, destinations, remaining)
    if tail.__class__ is not Unrated and tail[_AMOUNT] > MAX_CHARGE_MINOR:
        return Unrated(record.source_id, OUT_OF_RANGE)
    return tail


def _priced(
    record: UsageRecord, ctx: Context, destinations: DestinationTable, remaining: Mapping[str, int]
) -> Tail | Unrated:
    service = record.service
    if service in ROUTED_SERVICES:
        number = record.destination
        if len(number) < MIN_NUMBER_DIGITS:
            # An extension like 1001 must not rate as a call to prefix 1.
            return Unrated(record.source_id, "short_number")
        dest = destinations.match(number, record.started_at)
        if dest is None:
            return Unrated(record.source_id, "no_destination")
        zone = dest.zone
    else:
        dest = None
        zone = record.zone or ANY
    if service in DURATION_SERVICES:
        try:  # nested dicts by plain keys: a third the cost of one tuple-keyed probe
            view = ctx.views[service][record.category][zone]
        except KeyError:
            view = ctx.duration_view(service, zone, record.category)
        if view.banded:
            view = view.at_band(ctx.schedule.band_at_epoch(int(record.started_at.timestamp())))
        if view.rate is None:
            return Unrated(record.source_id, "no_rate")
        billable_s = record.billable_s
        if not record.answered:
            tail = view.unanswered if billable_s >= 0 else None
        elif not (view.names and remaining):
            # No bundle to draw from: the price is a function of the billable seconds.
            tail = view.tails.get(billable_s)
            if tail is None:
                tail = _duration_tail(ctx, view, billable_s, remaining)
                if tail is not None:
                    ctx.remember(view.tails, billable_s, tail)
        else:
            # A call the first covering bundle holds whole is a function of its seconds too.
            tail = view.covered.get(billable_s)
            if tail is None or remaining.get(view.names[0], 0) < tail[_BILLED]:
                tail = _duration_tail(ctx, view, billable_s, remaining)
                if tail is not None and _held_whole(tail, view.names[0]):
                    ctx.remember(view.covered, billable_s, tail)
        if tail is None:
            return Unrated(record.source_id, "negative_duration")
        return tail
    market = record.market
    if dest is not None:
        market = market or dest.market or dest.country
    return _rate_counted(record, ctx, zone, market, remaining)


def _held_whole(tail: Tail, bundle: str) -> bool:
    """Whether the rated fields are of a call drawn whole from `bundle`."""
    draws = tail[_DRAWS]
    return len(draws) == 1 and draws[0][0] == bundle and tail[_FREE] == tail[_BILLED]


def _duration_tail(
    ctx: Context, view: View, billable_s: int, remaining: Mapping[str, int]
) -> Tail | None:
    """The rated fields of an answered timed record in `view`; None if its duration is
    negative."""
    if billable_s < 0:
        return None
    if billable_s == 0:
        return view.unanswered
    if billable_s <= view.no_charge_s:
        return view.no_charge
    if view.names and remaining:
        return _split(ctx, view, billable_s, remaining)
    return _charged(ctx, view, billable_s)


def _charged(ctx: Context, view: View, billable_s: int) -> Tail:
    """A charged timed record no bundle covers: each rate group the call reaches bills its
    share in whole increments, then the connect fee and the minimum charge apply."""
    rate = view.rate
    numerator = rate.connect_numerator
    billed = 0
    pieces = []
    for start, size, increments, rate_micro in billed_pieces(rate, billable_s):
        span = increments * size
        billed += span
        numerator += rate_micro * span
        pieces.append(_new_tuple(Piece, (start, size, increments, span, span, rate_micro)))
    note = ""
    if numerator < rate.minimum_numerator:
        numerator, note = rate.minimum_numerator, "minimum_charge"
    return ctx.tail(view, numerator, rate.rate_unit_s, billed, 0, tuple(pieces), (), note)


def _draw(
    names: tuple[str, ...], remaining: Mapping[str, int], wanted: int
) -> tuple[tuple[str, int], ...]:
    """As `bundles.draw`, over the covering bundles only."""
    draws = []
    for name in names:
        if wanted <= 0:
            break
        left = remaining.get(name, 0)
        if left <= 0:
            continue
        taken = min(left, wanted)
        draws.append((name, taken))
        wanted -= taken
    return tuple(draws)


def _split(ctx: Context, view: View, billable_s: int, remaining: Mapping[str, int]) -> Tail:
    """As `_charged`, for a record bundles may cover: they take the head of the billed
    timeline, and what lies past their `free` units is charged."""
    rate = view.rate
    raw_pieces = billed_pieces(rate, billable_s)
    billed = sum(increments * size for _start, size, increments, _rate in raw_pieces)
    draws: tuple[tuple[str, int], ...] = ()
    free = 0
    if view.names and remaining:
        draws = _draw(view.names, remaining, billed)
        for _, taken in draws:
            free += taken

    # Bundles cover the head of the billed timeline; charge what lies past `free`.
    pieces = []
    numerator = 0
    for start, size, increments, rate_micro in raw_pieces:
        span = increments * size
        charged = span if free <= start else max(span - (free - start), 0)
        numerator += rate_micro * charged
        # tuple.__new__ skips NamedTuple's Python-level __new__: same object, a third the cost.
        pieces.append(_new_tuple(Piece, (start, size, increments, span, charged, rate_micro)))
    note = "bundle" if free else ""
    if billed > free:
        numerator += rate.connect_numerator
        if numerator < rate.minimum_numerator:
            numerator, note = rate.minimum_numerator, "minimum_charge"
    return ctx.tail(view, numerator, rate.rate_unit_s, billed, free, tuple(pieces), draws, note)


def _rate_counted(
    record: UsageRecord, ctx: Context, zone: str, market: str, remaining: Mapping[str, int]
) -> Tail | Unrated:
    if record.units < 1:
        return Unrated(record.source_id, "no_units")
    service = record.service
    key = (zone, market) if service is _WHATSAPP else zone
    try:
        view = ctx.views[service][record.category][key]
    except KeyError:
        view = ctx.counted_view(service, zone, record.category, market)
    if service is _WHATSAPP and record.pricing_type in ctx.whatsapp_free_types:
        # Meta does not charge these; keep the row so usage reports stay complete.
        return view.free_type
    if view.free_service is not None and record.started_at < WHATSAPP_SERVICE_CHARGED_FROM:
        return view.free_service
    if view.unit is None:
        return Unrated(record.source_id, "no_rate")
    units = record.units
    if view.names and remaining:
        draws = _draw(view.names, remaining, units)
        if draws:
            free = 0
            for _, taken in draws:
                free += taken
            return _counted_tail(ctx, view, units, free, draws)
    tail = view.tails.get(units)
    if tail is None:
        tail = ctx.remember(view.tails, units, _counted_tail(ctx, view, units, 0, ()))
    return tail


def _counted_tail(
    ctx: Context, view: View, units: int, free: int, draws: tuple[tuple[str, int], ...]
) -> Tail:
    price = view.unit.price_micro
    piece = _new_tuple(Piece, (0, 1, units, units, units - free, price))
    note = "bundle" if free else ""
    return ctx.tail(view, price * (units - free), 1, units, free, (piece,), draws, note)
