"""The rater: increments, rounding, bands, bundles, minimums, FX, messaging."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.money import Currency
from billing.rating.bundles import BundleState
from billing.rating.destinations import Destination, DestinationTable
from billing.rating.fixedpoint import Rounding
from billing.rating.plans import ANY, Bundle, DurationRate, RateGroup, RatePlan, Service, UnitRate
from billing.rating.rater import billed_pieces, rate_usage
from billing.rating.records import FxRate, RatedUsage, Unrated, UsageRecord
from billing.rating.timebands import peak_offpeak_weekend

MONDAY_PEAK = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Dar es Salaam
MOBILE, FIXED, KENYA = "255712345678", "255222123456", "254712345678"
TABLE = DestinationTable(
    [
        Destination("2557", "TZ-MOB", "TZ", market="rest_of_africa"),
        Destination("2552", "TZ-FIX", "TZ", market="rest_of_africa"),
        Destination("254", "KE", "KE", market="rest_of_africa"),
    ]
)


def plan(rate: DurationRate, **options) -> RatePlan:
    return RatePlan("T", Currency.TZS, durations={(Service.VOICE, ANY): {ANY: rate}}, **options)


def call(billsec: int, answered: bool = True, to: str = MOBILE, at=MONDAY_PEAK) -> UsageRecord:
    return UsageRecord("c1", Service.VOICE, at, to, billsec, answered)


def rated(record, rate_plan, **kwargs) -> RatedUsage:
    result = rate_usage(record, rate_plan, TABLE, **kwargs)
    assert isinstance(result, RatedUsage), result
    return result


@pytest.mark.parametrize(
    ("initial", "increment", "billsec", "billed"),
    [
        (60, 60, 61, 120),
        (30, 6, 61, 66),
        (1, 1, 61, 61),
        (60, 1, 20, 60),
        (60, 1, 61, 61),
        (60, 60, 60, 60),
        (30, 6, 1, 30),
        (30, 6, 31, 36),
    ],
)
def test_increments(initial, increment, billsec, billed):
    result = rated(call(billsec), plan(DurationRate.per_increment(D("60"), initial, increment)))
    assert result.billed_units == billed
    # 60 TZS per minute is 1 TZS a second: the charge in minor units is billed s x 100.
    assert result.amount_minor == billed * 100


def test_breakdown_lists_each_group_for_a_dispute():
    result = rated(call(61), plan(DurationRate.per_increment(D("60"), 30, 6)))
    assert [(p.start_s, p.increment_s, p.increments, p.billed_units) for p in result.pieces] == [
        (0, 30, 1, 30),
        (30, 6, 6, 36),
    ]
    assert result.zone == "TZ-MOB" and result.rate_unit_s == 60


def test_one_rounding_at_the_end_not_per_increment():
    # 0.05 TZS/min per second for 59 s: per-increment rounding to cents would give
    # 59 x 0.00 = 0.00; exact is 0.049166.. -> 0.05 (irontec#692, cgrates#260).
    result = rated(call(59), plan(DurationRate.per_increment(D("0.05"), 1, 1)))
    assert result.amount_minor == 5
    assert result.raw_amount.quantize(D("0.000001")) == D("0.049167")


def test_rounding_mode_and_decimals_follow_the_plan():
    rate = DurationRate.per_increment(D("70.81"), 1, 1)  # 61 s -> 71.9901.. TZS
    assert rated(call(61), plan(rate)).amount_minor == 7199
    assert rated(call(61), plan(rate, rounding=Rounding.DOWN)).amount_minor == 7199
    assert rated(call(61), plan(rate, rounding=Rounding.UP)).amount_minor == 7200
    assert rated(call(61), plan(rate, decimals=0)).amount_minor == 7200
    assert rated(call(61), plan(rate, decimals=0, rounding=Rounding.DOWN)).amount_minor == 7100


def test_cgrates_rate_groups_with_connect_fee():
    # RT_20CNT: connect 0.4, first minute 0.2 in 60 s blocks, then 0.1/min per second.
    rate = DurationRate(
        (RateGroup(0, D("0.2"), 60), RateGroup(60, D("0.1"), 1)), connect_fee=D("0.4")
    )
    assert rated(call(20), plan(rate)).amount_minor == 60
    result = rated(call(85), plan(rate, rounding=Rounding.UP))
    assert result.raw_amount.quantize(D("0.000001")) == D("0.641667")
    assert result.amount_minor == 65


@pytest.mark.parametrize("billsec", [0, 5, 300])
def test_unanswered_calls_cost_nothing(billsec):
    rate = DurationRate.per_increment(D("70"), connect_fee=D("10"), minimum_charge=D("50"))
    result = rated(call(billsec, answered=False), plan(rate))
    assert (result.amount_minor, result.billed_units, result.note) == (0, 0, "unanswered")


def test_answered_with_zero_billsec_costs_nothing():
    rate = DurationRate.per_increment(D("70"), connect_fee=D("10"))
    assert rated(call(0), plan(rate)).amount_minor == 0


def test_no_charge_seconds_are_a_grace_period_not_a_discount():
    rate = DurationRate.per_increment(D("60"), 1, 1, no_charge_s=5)
    assert rated(call(5), plan(rate)).amount_minor == 0
    assert rated(call(5), plan(rate)).note == "no_charge"
    assert rated(call(6), plan(rate)).amount_minor == 600


def test_minimum_charge_lifts_short_calls_only():
    rate = DurationRate.per_increment(D("60"), 1, 1, minimum_charge=D("10"))
    short = rated(call(3), plan(rate))
    assert (short.amount_minor, short.note) == (1000, "minimum_charge")
    assert rated(call(30), plan(rate)).amount_minor == 3000


def test_time_bands_use_dar_es_salaam_local_time():
    rates = {
        "peak": DurationRate.per_increment(D("120"), 60, 60),
        "offpeak": DurationRate.per_increment(D("60"), 60, 60),
        "weekend": DurationRate.per_increment(D("30"), 60, 60),
    }
    rate_plan = RatePlan(
        "B",
        Currency.TZS,
        durations={(Service.VOICE, "TZ-MOB"): rates},
        schedule=peak_offpeak_weekend(),
    )
    friday_utc_evening = datetime(2026, 3, 6, 21, 30, tzinfo=UTC)  # Saturday 00:30 EAT
    sunday_utc_night = datetime(2026, 3, 8, 21, 30, tzinfo=UTC)  # Monday 00:30 EAT
    assert rated(call(60), rate_plan).band == "peak"
    assert rated(call(60), rate_plan).amount_minor == 12000
    weekend = rated(call(60, at=friday_utc_evening), rate_plan)
    assert (weekend.band, weekend.amount_minor) == ("weekend", 3000)
    monday = rated(call(60, at=sunday_utc_night), rate_plan)
    assert (monday.band, monday.amount_minor) == ("offpeak", 6000)


def test_bundle_covers_the_head_and_the_tail_is_charged():
    rate = DurationRate.per_increment(D("60"), 1, 1, connect_fee=D("5"))
    rate_plan = plan(rate, bundles=(Bundle("mins", Service.VOICE, 100),))
    state = BundleState({"mins": 40})
    result = rated(call(100), rate_plan, bundles=state)
    assert (result.billed_units, result.bundle_units, result.charged_units) == (100, 40, 60)
    assert result.amount_minor == 60 * 100 + 500  # connect fee applies to a charged call
    assert result.bundle_draws == (("mins", 40),)
    assert state.after(result.bundle_draws).remaining == {"mins": 0}


def test_call_inside_a_bundle_is_free_without_connect_fee():
    rate = DurationRate.per_increment(D("60"), 60, 60, connect_fee=D("5"))
    rate_plan = plan(rate, bundles=(Bundle("mins", Service.VOICE, 600),))
    result = rated(call(61), rate_plan, bundles=BundleState.fresh(rate_plan))
    assert (result.amount_minor, result.bundle_units, result.note) == (0, 120, "bundle")


def test_bundles_are_drawn_in_order_and_only_where_they_apply():
    rate_plan = RatePlan(
        "S",
        Currency.TZS,
        units={(Service.SMS, ANY): UnitRate(D("22"))},
        bundles=(
            Bundle("onnet", Service.SMS, 2, zones=frozenset({"TZ-MOB"})),
            Bundle("any", Service.SMS, 1),
        ),
    )
    state = BundleState.fresh(rate_plan)
    sms = UsageRecord("s1", Service.SMS, MONDAY_PEAK, MOBILE, units=5)
    result = rated(sms, rate_plan, bundles=state)
    assert result.bundle_draws == (("onnet", 2), ("any", 1))
    assert result.amount_minor == 2 * 2200
    kenya = rated(UsageRecord("s2", Service.SMS, MONDAY_PEAK, KENYA, units=2), rate_plan,
                  bundles=state)  # fmt: skip
    assert kenya.bundle_draws == (("any", 1),)


def test_fx_converts_exactly_and_rounds_once():
    rate_plan = RatePlan(
        "USD", Currency.USD, durations={(Service.VOICE, ANY): {ANY: DurationRate.per_increment(
            D("0.0134"), 1, 1)}}
    )  # fmt: skip
    fx = FxRate(Currency.USD, Currency.TZS, D("2650.25"))
    result = rated(call(61), rate_plan, fx=fx)
    # 0.0134 x 61/60 USD x 2650.25 = 36.10523.. TZS -> 36.11
    assert result.currency is Currency.TZS and result.amount_minor == 3611
    assert result.fx_rate == D("2650.25")
    with pytest.raises(ValueError):
        rate_usage(call(61), rate_plan, TABLE, fx=FxRate(Currency.TZS, Currency.USD, D("1")))


def test_sms_is_priced_per_segment_by_zone():
    rate_plan = RatePlan(
        "S",
        Currency.TZS,
        units={(Service.SMS, "TZ-MOB"): UnitRate(D("22")), (Service.SMS, ANY): UnitRate(D("95"))},
    )
    local = rated(UsageRecord("s", Service.SMS, MONDAY_PEAK, MOBILE, units=3), rate_plan)
    abroad = rated(UsageRecord("s", Service.SMS, MONDAY_PEAK, KENYA, units=1), rate_plan)
    assert (local.amount_minor, abroad.amount_minor) == (6600, 9500)


def test_whatsapp_by_category_and_market_and_free_types_are_kept_at_zero():
    rate_plan = RatePlan(
        "W",
        Currency.USD,
        whatsapp={
            ("marketing", "rest_of_africa"): UnitRate(D("0.0225")),
            ("utility", "rest_of_africa"): UnitRate(D("0.004")),
        },
        rounding=Rounding.UP,
    )

    def message(category, pricing_type="regular"):
        return UsageRecord("w", Service.WHATSAPP, MONDAY_PEAK, MOBILE, category=category,
                           pricing_type=pricing_type)  # fmt: skip

    marketing = rated(message("marketing"), rate_plan)
    assert marketing.amount_minor == 3 and marketing.raw_amount == D("0.0225")
    free = rated(message("utility", "free_customer_service"), rate_plan)
    assert (free.amount_minor, free.note) == (0, "free_type")
    assert rate_usage(message("authentication"), rate_plan, TABLE) == Unrated("w", "no_rate")


def test_unrouted_services_rate_by_zone_on_the_record():
    rate_plan = RatePlan(
        "A",
        Currency.USD,
        durations={(Service.AI_AGENT_MINUTES, ANY): {ANY: DurationRate.per_increment(
            D("0.06"), 1, 1)}},
        units={(Service.NUMBER_RENTAL, "TZ-MOB"): UnitRate(D("5"))},
    )  # fmt: skip
    ai = UsageRecord("a", Service.AI_AGENT_MINUTES, MONDAY_PEAK, billable_s=90)
    assert rated(ai, rate_plan).amount_minor == 9
    rental = UsageRecord("n", Service.NUMBER_RENTAL, MONDAY_PEAK, zone="TZ-MOB", units=2)
    assert rated(rental, rate_plan).amount_minor == 1000


def test_unpriceable_records_are_returned_with_a_reason():
    rate_plan = plan(DurationRate.per_increment(D("60")))
    assert rate_usage(call(10, to="447700900123"), rate_plan, TABLE).reason == "no_destination"
    assert rate_usage(call(10, to="1001"), rate_plan, TABLE).reason == "short_number"
    sms = UsageRecord("s", Service.SMS, MONDAY_PEAK, MOBILE)
    assert rate_usage(sms, rate_plan, TABLE).reason == "no_rate"


def test_plans_refuse_floats_negative_prices_and_overlapping_groups():
    with pytest.raises(TypeError):
        UnitRate(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        UnitRate(D("-1"))
    with pytest.raises(ValueError):
        DurationRate((RateGroup(0, D("1"), 45), RateGroup(60, D("1"), 1)))


def test_billed_pieces_skip_groups_the_call_never_reaches():
    rate = DurationRate((RateGroup(0, D("1"), 60), RateGroup(60, D("2"), 1)))
    assert [piece[:3] for piece in billed_pieces(rate, 59)] == [(0, 60, 1)]


RATES = st.builds(
    DurationRate.per_increment,
    st.decimals(min_value=0, max_value=1000, places=4),
    st.sampled_from([1, 6, 30, 60]),
    st.sampled_from([1, 6, 30, 60]),
    connect_fee=st.decimals(min_value=0, max_value=50, places=2),
    no_charge_s=st.integers(0, 10),
    minimum_charge=st.decimals(min_value=0, max_value=50, places=2),
)


@given(RATES, st.integers(0, 20_000), st.integers(0, 20_000), st.sampled_from(list(Rounding)))
def test_bundle_split_parts_sum_to_the_whole(rate, billsec, bundle_s, rounding):
    rate_plan = plan(rate, bundles=(Bundle("m", Service.VOICE, bundle_s),), rounding=rounding)
    unbundled = rated(call(billsec), rate_plan)
    split = rated(call(billsec), rate_plan, bundles=BundleState.fresh(rate_plan))
    assert split.amount_minor >= 0
    assert split.billed_units == unbundled.billed_units
    assert split.bundle_units + split.charged_units == split.billed_units
    assert sum(p.charged_units for p in split.pieces) == split.charged_units
    assert split.bundle_units == min(bundle_s, split.billed_units)
    assert split.amount_minor <= unbundled.amount_minor


@given(RATES, st.integers(0, 5000), st.integers(0, 5000))
def test_charge_is_never_negative_and_grows_with_duration(rate, first, second):
    short, long = sorted((first, second))
    rate_plan = plan(rate, rounding=Rounding.UP)
    low, high = rated(call(short), rate_plan), rated(call(long), rate_plan)
    assert low.amount_minor >= 0
    if short > rate.no_charge_s:
        assert low.amount_minor <= high.amount_minor


def test_whatsapp_service_messages_cost_from_1_october_2026_at_the_utility_rate():
    """reference/usage.md §3: free until 30 Sep 2026; then per message, at the market's
    utility rate unless the plan prices service messages itself."""
    utility_only = RatePlan(
        "W", Currency.USD, whatsapp={("utility", "rest_of_africa"): UnitRate(D("0.004"))},
        rounding=Rounding.UP,
    )  # fmt: skip
    own_price = RatePlan(
        "S", Currency.USD, whatsapp={("utility", ANY): UnitRate(D("0.004")),
                                     ("service", ANY): UnitRate(D("0.02"))},
    )  # fmt: skip
    before = datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC)
    after = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)

    def service(at, pricing_type="regular"):
        return UsageRecord("s", Service.WHATSAPP, at, MOBILE, category="service",
                           pricing_type=pricing_type)  # fmt: skip

    free = rated(service(before), utility_only)
    assert (free.amount_minor, free.note) == (0, "service_free_until_2026_10")
    charged = rated(service(after), utility_only)
    assert (charged.amount_minor, charged.raw_amount) == (1, D("0.004"))
    assert rated(service(after), own_price).amount_minor == 2
    still_free = rated(service(after, "free_customer_service"), utility_only)
    assert (still_free.amount_minor, still_free.note) == (0, "free_type")
    no_prices = RatePlan("N", Currency.USD, whatsapp={("marketing", ANY): UnitRate(D("1"))})
    assert rate_usage(service(after), no_prices, TABLE) == Unrated("s", "no_rate")
