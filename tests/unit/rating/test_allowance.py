"""Authorisation arithmetic: what a budget buys, in whole increments or messages."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.money import Currency
from billing.rating.allowance import (
    MAX_MESSAGES,
    MAX_SESSION_S,
    Request,
    allowance,
    edge,
    edge_count,
)
from billing.rating.bundles import BundleState
from billing.rating.destinations import Destination, DestinationTable
from billing.rating.plans import ANY, Bundle, DurationRate, RateGroup, RatePlan, Service, UnitRate
from billing.rating.rater import rate_usage
from billing.rating.records import FxRate, RatedUsage, UsageRecord
from billing.rating.timebands import peak_offpeak_weekend
from invoices.vat import gross_from_net

MONDAY_PEAK = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Dar es Salaam
MONDAY_EVENING = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 21:00: off-peak
MOBILE, TOLL_FREE = "255712345678", "255800123456"
TABLE = DestinationTable(
    [
        Destination("2557", "TZ-MOB", "TZ", market="rest_of_africa"),
        Destination("255800", "TZ-TOLLFREE", "TZ"),
    ]
)


def with_vat(net: int) -> int:
    return gross_from_net(net, D("18"))


def voice_plan(rate: DurationRate, **options) -> RatePlan:
    durations = {
        (Service.VOICE, "TZ-MOB"): {ANY: rate},
        (Service.VOICE, "TZ-TOLLFREE"): {ANY: DurationRate.per_increment(D("0"), 1, 1)},
    }
    return RatePlan("T", Currency.TZS, durations=durations, **options)


def call(destination: str = MOBILE, at: datetime = MONDAY_PEAK) -> Request:
    return Request(Service.VOICE, destination, at)


def seconds_for(budget, rate, **options):
    return allowance(call(), voice_plan(rate), TABLE, budget, **options)


@pytest.mark.parametrize(
    ("initial", "following", "price", "budget", "max_seconds"),
    [
        (60, 60, "70", 150_00, 120),  # 2 minutes = 140.00; a third would be 210.00
        (60, 60, "70", 140_00, 120),  # exactly the budget is allowed
        (60, 1, "60", 100_50, 100),  # 60 s for 60.00, then 1.00 a second: 40 more seconds
        (30, 6, "60", 50_00, 48),  # 30 s, then 6 s blocks at 1.00 a second
        (1, 1, "60", 1_00, 1),
        (60, 60, "70", 70_00, 60),
    ],
)
def test_max_seconds_are_whole_increments(initial, following, price, budget, max_seconds):
    rate = DurationRate.per_increment(D(price), initial, following)
    result = seconds_for(budget, rate)
    assert result.allowed and result.max_seconds == max_seconds
    assert result.zone == "TZ-MOB" and result.reason == ""


def test_the_connect_fee_is_paid_before_the_first_increment():
    rate = DurationRate.per_increment(D("60"), 30, 6, connect_fee=D("2"))
    # 2.00 + 1.00 a second: 48 s cost 50.00, 54 s would cost 56.00
    assert seconds_for(50_00, rate).max_seconds == 48
    assert seconds_for(50_00, rate).first_charge_minor == 32_00
    refused = seconds_for(31_99, rate)  # the fee and the first 30 s cost 32.00
    assert not refused.allowed and refused.reason == "insufficient_balance"
    assert refused.max_seconds == 0


def test_insufficient_balance_below_the_first_increment():
    rate = DurationRate.per_increment(D("70"), 60, 60)
    for budget in (0, 69_99, -5_00):
        result = seconds_for(budget, rate)
        assert (result.allowed, result.max_seconds, result.reason) == (
            False,
            0,
            "insufficient_balance",
        )
        assert result.first_charge_minor == 70_00


def test_a_minimum_charge_is_what_the_first_increment_costs():
    rate = DurationRate.per_increment(D("60"), 1, 1, minimum_charge=D("10"))
    assert not seconds_for(9_99, rate).allowed
    assert seconds_for(10_00, rate).max_seconds == 10  # 10 s cost the minimum, 11 s more


def test_prepaid_budgets_pay_vat_on_top():
    rate = DurationRate.per_increment(D("100"), 60, 60)  # 100.00 + 18.00 VAT a minute
    assert seconds_for(235_99, rate, to_pay=with_vat).max_seconds == 60
    assert seconds_for(236_00, rate, to_pay=with_vat).max_seconds == 120
    assert seconds_for(236_00, rate).max_seconds == 120  # net only: 2 minutes as well
    assert not seconds_for(117_99, rate, to_pay=with_vat).allowed


def test_bundle_seconds_come_before_the_wallet():
    rate = DurationRate.per_increment(D("100"), 60, 60)
    bundle = Bundle("voice-2min", Service.VOICE, 120, zones=frozenset({"TZ-MOB"}))
    rate_plan = voice_plan(rate, bundles=(bundle,))
    full = BundleState.fresh(rate_plan)
    assert allowance(call(), rate_plan, TABLE, 0, bundles=full).max_seconds == 120
    assert allowance(call(), rate_plan, TABLE, 100_00, bundles=full).max_seconds == 180
    half = BundleState({"voice-2min": 30})  # 30 s left: the first minute costs 30 s of it
    assert allowance(call(), rate_plan, TABLE, 0, bundles=half).allowed is False
    assert allowance(call(), rate_plan, TABLE, 50_00, bundles=half).max_seconds == 60
    spent = BundleState({"voice-2min": 0})
    assert not allowance(call(), rate_plan, TABLE, 0, bundles=spent).allowed


def test_free_and_unlimited_calls_stop_at_the_session_cap():
    rate = DurationRate.per_increment(D("70"), 60, 60)
    free = allowance(call(TOLL_FREE), voice_plan(rate), TABLE, 0)
    assert free.allowed and free.max_seconds == MAX_SESSION_S and free.zone == "TZ-TOLLFREE"
    unlimited = seconds_for(None, rate)
    assert unlimited.allowed and unlimited.max_seconds == MAX_SESSION_S


def test_time_bands_price_the_call_at_its_start():
    schedule = peak_offpeak_weekend()
    banded = {
        "peak": DurationRate.per_increment(D("100"), 60, 60),
        "offpeak": DurationRate.per_increment(D("50"), 60, 60),
    }
    rate_plan = RatePlan(
        "T", Currency.TZS, durations={(Service.VOICE, "TZ-MOB"): banded}, schedule=schedule
    )
    peak = allowance(call(at=MONDAY_PEAK), rate_plan, TABLE, 200_00)
    evening = allowance(call(at=MONDAY_EVENING), rate_plan, TABLE, 200_00)
    assert (peak.band, peak.max_seconds) == ("peak", 120)
    assert (evening.band, evening.max_seconds) == ("offpeak", 240)


def test_usd_prices_are_converted_before_the_budget_is_compared():
    rate = DurationRate.per_increment(D("0.05"), 60, 60)  # US$0.05 a minute
    usd_plan = RatePlan("U", Currency.USD, durations={(Service.VOICE, ANY): {ANY: rate}})
    fx = FxRate(Currency.USD, Currency.TZS, D("2500"))  # 125.00 TZS a minute
    result = allowance(call(), usd_plan, TABLE, 300_00, fx=fx)
    assert result.max_seconds == 120 and result.first_charge_minor == 125_00


@pytest.mark.parametrize(
    ("destination", "reason"),
    [("255612345678", "no_rate"), ("999912345", "no_destination"), ("1001", "short_number")],
)
def test_what_cannot_be_rated_is_not_allowed(destination, reason):
    rate_plan = voice_plan(DurationRate.per_increment(D("70"), 60, 60))
    table = DestinationTable([*TABLE_ROWS, Destination("2556", "TZ-MOB-HALOTEL", "TZ")])
    result = allowance(call(destination), rate_plan, table, 1_000_00)
    assert (result.allowed, result.reason, result.max_seconds) == (False, reason, None)


TABLE_ROWS = [Destination("2557", "TZ-MOB", "TZ"), Destination("255800", "TZ-TOLLFREE", "TZ")]


def sms_plan() -> RatePlan:
    return RatePlan("S", Currency.TZS, units={(Service.SMS, "TZ-MOB"): UnitRate(D("22"))})


def test_max_messages_by_segments_and_vat():
    sms = Request(Service.SMS, MOBILE, MONDAY_PEAK)
    assert allowance(sms, sms_plan(), TABLE, 100_00).max_messages == 4  # 88.00
    two_part = Request(Service.SMS, MOBILE, MONDAY_PEAK, segments=2)
    assert allowance(two_part, sms_plan(), TABLE, 100_00).max_messages == 2
    # With VAT one message costs 25.96; three cost 77.88, four 103.84.
    assert allowance(sms, sms_plan(), TABLE, 100_00, to_pay=with_vat).max_messages == 3
    broke = allowance(sms, sms_plan(), TABLE, 25_95, to_pay=with_vat)
    assert (broke.allowed, broke.max_messages, broke.reason) == (False, 0, "insufficient_balance")
    assert allowance(sms, sms_plan(), TABLE, None).max_messages == MAX_MESSAGES


def test_whatsapp_messages_are_priced_by_category_and_market():
    rate_plan = RatePlan(
        "W",
        Currency.TZS,
        whatsapp={
            ("marketing", "rest_of_africa"): UnitRate(D("55")),
            ("utility", ANY): UnitRate(D("10")),
        },
    )
    marketing = Request(Service.WHATSAPP, MOBILE, MONDAY_PEAK, category="marketing")
    utility = Request(Service.WHATSAPP, MOBILE, MONDAY_PEAK, category="utility")
    assert allowance(marketing, rate_plan, TABLE, 200_00).max_messages == 3
    assert allowance(utility, rate_plan, TABLE, 200_00).max_messages == 20
    unknown = Request(Service.WHATSAPP, MOBILE, MONDAY_PEAK, category="authentication")
    assert allowance(unknown, rate_plan, TABLE, 200_00).reason == "no_rate"


def test_edges_walk_across_rate_groups():
    rate = DurationRate((RateGroup(0, D("1"), 30), RateGroup(60, D("1"), 6)))
    assert [edge(rate, k) for k in range(1, 6)] == [30, 60, 66, 72, 78]
    assert edge_count(rate, 60) == 2 and edge_count(rate, 71) == 3 and edge_count(rate, 29) == 1


@given(
    initial=st.sampled_from([1, 6, 30, 60]),
    following=st.sampled_from([1, 6, 30, 60]),
    price=st.integers(min_value=1, max_value=5_000),
    connect=st.integers(min_value=0, max_value=500),
    budget=st.integers(min_value=0, max_value=20_000_00),
    vat=st.booleans(),
)
def test_the_allowance_is_exactly_what_rating_will_charge(
    initial, following, price, connect, budget, vat
):
    """A call of max_seconds costs at most the budget; one second more costs more."""
    rate = DurationRate.per_increment(D(price), initial, following, connect_fee=D(connect))
    to_pay = with_vat if vat else int
    result = seconds_for(budget, rate, to_pay=to_pay)

    def rated(seconds: int) -> RatedUsage:
        record = UsageRecord("x", Service.VOICE, MONDAY_PEAK, MOBILE, billable_s=seconds)
        result = rate_usage(record, voice_plan(rate), TABLE)
        assert isinstance(result, RatedUsage)
        return result

    def cost(seconds: int) -> int:
        return to_pay(rated(seconds).amount_minor)

    if not result.allowed:
        assert cost(1) > budget
        return
    assert cost(result.max_seconds) <= budget
    assert rated(result.max_seconds).billed_units == result.max_seconds  # a whole increment
    if cost(result.max_seconds + 1) <= budget:
        # Affordable, but the next increment would bill past the session cap.
        assert rated(result.max_seconds + 1).billed_units > MAX_SESSION_S
