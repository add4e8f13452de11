"""The rater: (usage record, plan, destinations, bundle state, FX) -> rated usage.

Pure and deterministic. Timed usage follows the CGRateS model: unanswered calls and
calls within the no-charge time cost nothing; otherwise each rate group bills its share
of the billable seconds in whole increments, plus a connect fee, with a minimum charge.
Bundles cover the first billed units of a record, so a record that runs past a bundle
is split: its head is free and its tail is charged at the groups it falls in. The raw
amount is an exact rational in micro-minor units, converted by the FX rate if any, and
rounded once, at the end, by the plan's rule.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping

from billing.rating.bundles import EMPTY, BundleState
from billing.rating.destinations import DestinationTable
from billing.rating.fixedpoint import round_fraction
from billing.rating.plans import (
    ANY,
    DURATION_SERVICES,
    ROUTED_SERVICES,
    DurationRate,
    RatePlan,
    Service,
)
from billing.rating.records import FxRate, Piece, RatedUsage, Unrated, UsageRecord

_new_tuple = tuple.__new__
MIN_NUMBER_DIGITS = 7  # the shortest E.164 numbers in use (e.g. Niue) have 7 digits


def rate_usage(
    record: UsageRecord,
    plan: RatePlan,
    destinations: DestinationTable,
    bundles: BundleState = EMPTY,
    fx: FxRate | None = None,
) -> RatedUsage | Unrated:
    """Price one record. Unpriceable records come back as `Unrated` with a reason."""
    if fx is not None and fx.source is not plan.currency:
        raise ValueError(f"FX rate converts from {fx.source}, plan is in {plan.currency}")
    at_s = int(record.started_at.timestamp())
    service = record.service
    market = record.market
    if service in ROUTED_SERVICES:
        if len(record.destination) < MIN_NUMBER_DIGITS:
            # An extension like 1001 must not rate as a call to prefix 1.
            return Unrated(record.source_id, "short_number")
        dest = destinations.match_epoch(record.destination, at_s)
        if dest is None:
            return Unrated(record.source_id, "no_destination")
        zone = dest.zone
        market = market or dest.market or dest.country
    else:
        zone = record.zone or ANY
    if service in DURATION_SERVICES:
        return _rate_duration(record, plan, zone, at_s, bundles, fx)
    return _rate_counted(record, plan, zone, market, bundles, fx)


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
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return [rate_usage(record, plan, destinations, bundles, fx) for record in records]
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


_NO_RATE = (None, None)


def _zone_rates(
    plan: RatePlan, service: Service, zone: str
) -> tuple[DurationRate | None, dict[str, DurationRate] | None]:
    """(the one rate, None) for a zone priced the same in every band, else (None, by band).

    Memoised on the plan: every later record to the zone is one dict probe.
    """
    key = (service, zone)
    found = plan.rating_memo.get(key)
    if found is None:
        by_band = plan.durations.get(key) or plan.durations.get((service, ANY))
        if not by_band:
            found = _NO_RATE
        elif len(by_band) == 1 and ANY in by_band:
            found = (by_band[ANY], None)
        else:
            found = (None, dict(by_band))
        plan.rating_memo[key] = found
    return found


def _covering(plan: RatePlan, service: Service, zone: str, category: str) -> tuple[str, ...]:
    """Names of the plan's bundles covering this usage, in plan order (memoised)."""
    key = (service, zone, category, "bundles")
    names = plan.rating_memo.get(key)
    if names is None:
        names = tuple(b.name for b in plan.bundles if b.covers(service, zone, category))
        plan.rating_memo[key] = names
    return names


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


def _rate_duration(
    record: UsageRecord,
    plan: RatePlan,
    zone: str,
    at_s: int,
    bundles: BundleState,
    fx: FxRate | None,
) -> RatedUsage | Unrated:
    service = record.service
    rate, by_band = _zone_rates(plan, service, zone)
    if rate is not None:
        band = ANY
    elif by_band is None:
        return Unrated(record.source_id, "no_rate")
    else:
        # Only work out the band when the zone is priced by band.
        band = plan.schedule.band_at_epoch(at_s)
        rate = by_band.get(band) or by_band.get(ANY)
        if rate is None:
            return Unrated(record.source_id, "no_rate")
    billable_s = record.billable_s
    if billable_s < 0:
        return Unrated(record.source_id, "negative_duration")
    if not record.answered or billable_s == 0:
        return _free(record, plan, zone, band, fx, "unanswered", rate.rate_unit_s)
    if billable_s <= rate.no_charge_s:
        return _free(record, plan, zone, band, fx, "no_charge", rate.rate_unit_s)

    names = _covering(plan, service, zone, record.category) if plan.bundles else ()
    spans = rate.spans
    if len(spans) == 1 and not (names and bundles.remaining):
        # The common case, one rate group and no bundle: one piece, charged whole.
        _, size, rate_micro, _ = spans[0]
        increments = -(-billable_s // size)
        billed = increments * size
        numerator = rate_micro * billed + rate.connect_numerator
        note = ""
        if numerator < rate.minimum_numerator:
            numerator, note = rate.minimum_numerator, "minimum_charge"
        piece = _new_tuple(Piece, (0, size, increments, billed, billed, rate_micro))
        return _priced(
            record, plan, zone, band, fx, numerator, rate.rate_unit_s, billed, 0, (piece,), (), note
        )

    # Each rate group the call reaches bills its share in whole increments.
    raw_pieces = []
    billed = 0
    for start, size, rate_micro, end in spans:
        if billable_s <= start:
            break
        stop = billable_s if end is None or billable_s < end else end
        increments = -(-(stop - start) // size)
        span = increments * size
        billed += span
        raw_pieces.append((start, size, increments, span, rate_micro))
    draws: tuple[tuple[str, int], ...] = ()
    free = 0
    if names and bundles.remaining:
        draws = _draw(names, bundles.remaining, billed)
        for _, taken in draws:
            free += taken

    # Bundles cover the head of the billed timeline; charge what lies past `free`.
    pieces = []
    numerator = 0
    for start, size, increments, span, rate_micro in raw_pieces:
        charged = span if free <= start else max(span - (free - start), 0)
        numerator += rate_micro * charged
        # tuple.__new__ skips NamedTuple's Python-level __new__: same object, a third the cost.
        pieces.append(_new_tuple(Piece, (start, size, increments, span, charged, rate_micro)))
    note = "bundle" if free else ""
    if billed > free:
        numerator += rate.connect_numerator
        if numerator < rate.minimum_numerator:
            numerator, note = rate.minimum_numerator, "minimum_charge"
    return _priced(
        record, plan, zone, band, fx, numerator, rate.rate_unit_s, billed, free, pieces, draws, note
    )


def _rate_counted(
    record: UsageRecord,
    plan: RatePlan,
    zone: str,
    market: str,
    bundles: BundleState,
    fx: FxRate | None,
) -> RatedUsage | Unrated:
    if record.units < 1:
        return Unrated(record.source_id, "no_units")
    if record.service is Service.WHATSAPP:
        if record.pricing_type in plan.whatsapp_free_types:
            # Meta does not charge these; keep the row so usage reports stay complete.
            return _free(record, plan, zone, ANY, fx, "free_type", 1)
        unit = plan.whatsapp.get((record.category, market)) or plan.whatsapp.get(
            (record.category, ANY)
        )
    else:
        unit = plan.unit_rate(record.service, zone)
    if unit is None:
        return Unrated(record.source_id, "no_rate")
    units = record.units
    draws: tuple[tuple[str, int], ...] = ()
    free = 0
    if plan.bundles and bundles.remaining:
        names = _covering(plan, record.service, zone, record.category)
        if names:
            draws = _draw(names, bundles.remaining, units)
            free = sum(taken for _, taken in draws)
    piece = _new_tuple(Piece, (0, 1, units, units, units - free, unit.price_micro))
    numerator = unit.price_micro * (units - free)
    return _priced(
        record,
        plan,
        zone,
        ANY,
        fx,
        numerator,
        1,
        units,
        free,
        [piece],
        draws,
        "bundle" if free else "",
    )


def _free(
    record: UsageRecord,
    plan: RatePlan,
    zone: str,
    band: str,
    fx: FxRate | None,
    note: str,
    rate_unit_s: int,
) -> RatedUsage:
    return _priced(record, plan, zone, band, fx, 0, rate_unit_s, 0, 0, [], (), note)


def _priced(
    record: UsageRecord,
    plan: RatePlan,
    zone: str,
    band: str,
    fx: FxRate | None,
    numerator: int,
    denominator: int,
    billed: int,
    free: int,
    pieces: list[Piece] | tuple[Piece, ...],
    draws: tuple[tuple[str, int], ...],
    note: str,
) -> RatedUsage:
    currency = plan.currency
    rate_unit_s = denominator
    fx_rate = None
    if fx is not None:
        numerator *= fx.numerator
        denominator *= fx.denominator
        currency, fx_rate = fx.target, fx.rate
    return _new_tuple(
        RatedUsage,
        (
            record.source_id,
            record.service,
            zone,
            band,
            currency,
            round_fraction(numerator, denominator, plan.rounding_step, plan.rounding),
            numerator,
            denominator,
            billed,
            free,
            tuple(pieces),
            draws,
            rate_unit_s,
            note,
            fx_rate,
        ),
    )
