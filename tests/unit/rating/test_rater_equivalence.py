"""The fast rater and prefix lookup give exactly what the plain versions gave.

`reference_rater` is the rater before the speed work; the naive lookup below is the
longest-prefix rule written out. Random plans (bands, rate groups, connect fees,
minimums, no-charge time, bundles, FX) and random records must price identically,
one at a time and through `rate_many`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.core.money import Currency
from billing.rating import pricing
from billing.rating.bundles import BundleState
from billing.rating.destinations import Destination, DestinationTable
from billing.rating.fixedpoint import Rounding
from billing.rating.plans import ANY, Bundle, DurationRate, RateGroup, RatePlan, Service, UnitRate
from billing.rating.rater import rate_many, rate_tails, rate_usage
from billing.rating.records import FxRate, RatedUsage, Unrated, UsageRecord
from billing.rating.timebands import peak_offpeak_weekend
from tests.unit.rating import reference_rater

START = datetime(2026, 1, 1, tzinfo=UTC)
CUTOVER = datetime(2026, 2, 1, tzinfo=UTC)
SERVICE_EDGE = datetime(2026, 9, 30, tzinfo=UTC)
ZONES = ("Z0", "Z1", "Z2", "Z3")
digits = st.text("0123456789", min_size=1, max_size=6)
prices = st.decimals(min_value=0, max_value=500, places=4).map(Decimal)


@st.composite
def tables(draw) -> DestinationTable:
    rows = []
    for prefix in draw(st.lists(digits, min_size=1, max_size=40, unique=True)):
        zone = draw(st.sampled_from(ZONES))
        if draw(st.booleans()):
            rows.append(Destination(prefix, zone, country="TZ"))
        else:  # effective-dated: one zone before the cutover, maybe another after
            rows.append(Destination(prefix, zone, effective_to=CUTOVER))
            if draw(st.booleans()):
                rows.append(Destination(prefix, draw(st.sampled_from(ZONES)), market="m",
                                        effective_from=CUTOVER))  # fmt: skip
    return DestinationTable(rows)


@st.composite
def duration_rates(draw) -> DurationRate:
    count = draw(st.integers(1, 3))
    groups, start = [], 0
    for _ in range(count):
        increment = draw(st.sampled_from([1, 6, 30, 60]))
        groups.append(RateGroup(start, draw(prices), increment))
        start += increment * draw(st.integers(1, 3))
    return DurationRate(
        tuple(groups),
        rate_unit_s=draw(st.sampled_from([1, 60])),
        connect_fee=draw(st.sampled_from([Decimal(0), Decimal("5"), Decimal("0.375")])),
        no_charge_s=draw(st.sampled_from([0, 0, 3])),
        minimum_charge=draw(st.sampled_from([Decimal(0), Decimal("20")])),
    )


@st.composite
def plans(draw) -> RatePlan:
    durations = {}
    for zone in draw(st.lists(st.sampled_from((*ZONES, ANY)), unique=True)):
        if draw(st.booleans()):
            by_band = {ANY: draw(duration_rates())}
        else:
            bands = draw(st.lists(st.sampled_from(["peak", "offpeak", "weekend", ANY]),
                                  min_size=1, unique=True))  # fmt: skip
            by_band = {band: draw(duration_rates()) for band in bands}
        service = draw(st.sampled_from([Service.VOICE, Service.VOICE, Service.AI_AGENT_MINUTES]))
        durations[(service, zone)] = by_band
    bundles = tuple(
        Bundle(f"b{n}", draw(st.sampled_from([Service.VOICE, Service.SMS])),
               draw(st.integers(1, 600)),
               zones=draw(st.none() | st.frozensets(st.sampled_from(ZONES), min_size=1)))
        for n in range(draw(st.integers(0, 2)))
    )  # fmt: skip
    return RatePlan(
        "EQ",
        Currency.TZS,
        durations=durations,
        units={(Service.SMS, draw(st.sampled_from([ANY, "Z1"]))): UnitRate(draw(prices))},
        whatsapp={
            (category, ANY): UnitRate(draw(prices))
            for category in draw(st.sets(st.sampled_from(["marketing", "utility", "service"])))
        },
        bundles=bundles,
        schedule=peak_offpeak_weekend(),
        rounding=draw(st.sampled_from(list(Rounding))),
        decimals=draw(st.integers(0, 2)),
    )


@st.composite
def records(draw, prefixes: list[str]) -> UsageRecord:
    service = draw(st.sampled_from([*Service, Service.VOICE, Service.VOICE]))
    return UsageRecord(
        draw(st.text("abc", max_size=3)),
        service,
        draw(
            st.builds(lambda s: START + timedelta(seconds=s), st.integers(0, 59 * 86400))
            # either side of 1 Oct 2026, when WhatsApp service messages began to cost
            | st.builds(lambda s: SERVICE_EDGE + timedelta(seconds=s), st.integers(0, 2 * 86400))
        ),
        draw(st.sampled_from(prefixes) | digits) + draw(st.text("0123456789", max_size=8)),
        billable_s=draw(st.integers(-1, 4000)),
        answered=draw(st.booleans() | st.just(True)),
        units=draw(st.integers(0, 5)),
        zone=draw(st.sampled_from(["", *ZONES])),
        category=draw(st.sampled_from(["marketing", "utility", "service", ""])),
        pricing_type=draw(st.sampled_from(["regular", "free_customer_service"])),
    )


def naive_match(table_rows: list[Destination], number: str, at: datetime) -> Destination | None:
    """Longest prefix first; among a prefix's rows, the earliest start in force."""
    for length in range(len(number), 0, -1):
        found = [
            row for row in table_rows
            if row.prefix == number[:length]
            and (row.effective_from is None or row.effective_from <= at)
            and (row.effective_to is None or at < row.effective_to)
        ]  # fmt: skip
        if found:
            return min(found, key=lambda row: row.effective_from or START - timedelta(days=999))
    return None


@settings(max_examples=150, deadline=None)
@given(plans(), tables(), st.data())
def test_the_fast_rater_prices_every_record_as_the_reference_did(plan, table, data):
    prefixes = sorted(table._rows)
    batch = data.draw(st.lists(records(prefixes), min_size=1, max_size=30))
    state = BundleState({b.name: data.draw(st.integers(0, 900)) for b in plan.bundles})
    fx = data.draw(st.sampled_from([None, FxRate(Currency.TZS, Currency.USD, Decimal("0.00039"))]))
    expected = [reference_rater.rate_usage(r, plan, table, state, fx) for r in batch]
    assert [rate_usage(r, plan, table, state, fx) for r in batch] == expected
    assert rate_many(batch, plan, table, state, fx) == expected


@settings(max_examples=100, deadline=None)
@given(plans(), tables(), st.data())
def test_the_tails_are_the_prices_without_their_ids_one_object_for_records_priced_alike(
    plan, table, data
):
    prefixes = sorted(table._rows)
    batch = data.draw(st.lists(records(prefixes), min_size=1, max_size=30))
    expected = [reference_rater.rate_usage(r, plan, table) for r in batch]
    tails = rate_tails(batch + batch, plan, table)  # the second time round, what was kept
    for tail, record, want in zip(tails, batch + batch, expected + expected, strict=True):
        got = tail if isinstance(tail, Unrated) else RatedUsage(record.source_id, *tail)
        assert got == want
    for first, again in zip(tails[: len(batch)], tails[len(batch) :], strict=True):
        assert again is first or isinstance(first, Unrated)


@settings(max_examples=150, deadline=None)
@given(st.lists(digits, min_size=1, max_size=60, unique=True), st.lists(digits, max_size=40))
def test_the_stem_index_finds_the_longest_prefix_in_force(prefixes, numbers):
    rows = [Destination(p, f"z{p}", effective_to=CUTOVER if n % 3 == 0 else None)
            for n, p in enumerate(prefixes)]  # fmt: skip
    table = DestinationTable(rows)
    candidates = numbers + [p + "123" for p in prefixes] + [p[:-1] for p in prefixes]
    for at in (START, CUTOVER):
        for number in candidates:
            assert table.match(number, at) == naive_match(rows, number, at), number


@settings(max_examples=40, deadline=None)
@given(plans(), tables(), st.data())
def test_a_spent_memo_budget_empties_the_memos_and_prices_alike(plan, table, data):
    prefixes = sorted(table._rows)
    batch = data.draw(st.lists(records(prefixes), min_size=1, max_size=30))
    state = BundleState({b.name: data.draw(st.integers(0, 900)) for b in plan.bundles})
    expected = [reference_rater.rate_usage(r, plan, table, state) for r in batch]
    budget = pricing.MEMO_BUDGET
    pricing.MEMO_BUDGET = 3
    pricing.forget_memos()
    try:
        for _ in range(2):  # the second pass meets what the first memoised
            assert rate_many(batch, plan, table, state) == expected
            held = sum(
                len(view.tails) + len(view.covered) for view in _views(pricing.context(plan, None))
            )
            assert held <= 3
    finally:
        pricing.MEMO_BUDGET = budget
        pricing.forget_memos()


def _views(ctx: pricing.Context) -> list[pricing.View]:
    return [
        band_view
        for by_category in ctx.views.values()
        for by_key in by_category.values()
        for view in by_key.values()
        for band_view in (view, *view.bands.values())
    ]
