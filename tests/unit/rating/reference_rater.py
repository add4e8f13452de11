"""The rater as it was before the speed work (billing.rating.rater at 8145042): an oracle.

Kept verbatim (bar this docstring) so test_rater_equivalence can check that the faster
rater prices every record exactly as this plainer one does. Not used by the service.

Original docstring: the rater maps (usage record, plan, destinations, bundle state, FX)
to rated usage, following the CGRateS model with one rounding at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime

from billing.rating.bundles import EMPTY, BundleState, draw
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
SERVICE_CHARGED_FROM = datetime(2026, 10, 1, tzinfo=UTC)  # Meta: service messages
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


def billed_pieces(rate: DurationRate, billable_s: int) -> list[tuple[int, int, int, int]]:
    """(start_s, increment_s, increments, rate_micro) per rate group the call reaches."""
    pieces = []
    groups = rate.groups
    last = len(groups) - 1
    for index, group in enumerate(groups):
        if billable_s <= group.start_s:
            break
        end = billable_s if index == last else min(billable_s, groups[index + 1].start_s)
        increments = -(-(end - group.start_s) // group.increment_s)
        pieces.append((group.start_s, group.increment_s, increments, group.rate_micro))
    return pieces


def _rate_duration(
    record: UsageRecord,
    plan: RatePlan,
    zone: str,
    at_s: int,
    bundles: BundleState,
    fx: FxRate | None,
) -> RatedUsage | Unrated:
    by_band = plan.durations.get((record.service, zone)) or plan.durations.get(
        (record.service, ANY)
    )
    if by_band is None:
        return Unrated(record.source_id, "no_rate")
    # Only work out the band when the zone is priced by band.
    band = ANY if len(by_band) == 1 and ANY in by_band else plan.schedule.band_at_epoch(at_s)
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

    raw_pieces = billed_pieces(rate, billable_s)
    billed = 0
    for _, size, increments, _ in raw_pieces:
        billed += increments * size
    draws: tuple[tuple[str, int], ...] = ()
    free = 0
    if plan.bundles and bundles.remaining:
        draws = draw(plan, bundles, record.service, zone, record.category, billed)
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
        numerator += rate.connect_micro * rate.rate_unit_s
        floor = rate.minimum_micro * rate.rate_unit_s
        if numerator < floor:
            numerator, note = floor, "minimum_charge"
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
        if record.category == "service" and record.started_at < SERVICE_CHARGED_FROM:
            return _free(record, plan, zone, ANY, fx, "service_free_until_2026_10", 1)
        unit = plan.whatsapp.get((record.category, market)) or plan.whatsapp.get(
            (record.category, ANY)
        )
        if unit is None and record.category == "service":  # charged as utility (Meta)
            unit = plan.whatsapp.get(("utility", market)) or plan.whatsapp.get(("utility", ANY))
    else:
        unit = plan.unit_rate(record.service, zone)
    if unit is None:
        return Unrated(record.source_id, "no_rate")
    units = record.units
    draws: tuple[tuple[str, int], ...] = ()
    free = 0
    if plan.bundles and bundles.remaining:
        draws = draw(plan, bundles, record.service, zone, record.category, units)
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
    pieces: list[Piece],
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
