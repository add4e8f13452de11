"""A price no bigint column or VAT sum can hold is refused by the rater, never raised."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from billing.core.money import Currency
from billing.rating.allowance import Request, allowance
from billing.rating.plans import ANY, DurationRate, RatePlan, Service, UnitRate
from billing.rating.rater import MAX_CHARGE_MINOR, rate_many, rate_tails, rate_usage
from billing.rating.records import RatedUsage, Unrated, UsageRecord
from invoices.vat import gross_from_net
from tests.unit.rating.test_allowance import TABLE

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MOBILE = "255712345678"
INT64_MAX = 2**63 - 1


def voice_plan(rate: str) -> RatePlan:
    durations = {(Service.VOICE, "TZ-MOB"): {ANY: DurationRate.per_increment(D(rate), 60, 1)}}
    return RatePlan("P", Currency.TZS, durations=durations)


def call(seconds: int) -> UsageRecord:
    return UsageRecord("r1", Service.VOICE, MONDAY, MOBILE, billable_s=seconds, answered=True)


def test_a_charge_beyond_the_ceiling_is_unrated_with_its_reason():
    result = rate_usage(call(65), voice_plan("1E+28"), TABLE)
    assert result == Unrated("r1", "price_out_of_range")
    assert rate_many([call(65)], voice_plan("1E+28"), TABLE) == [result]
    assert rate_tails([call(65)], voice_plan("1E+28"), TABLE) == [result]


def test_the_ceiling_itself_is_priced_and_its_vat_fits_int64():
    per_minute = D(MAX_CHARGE_MINOR) / 100  # one minute costs exactly the ceiling
    result = rate_usage(call(60), voice_plan(str(per_minute)), TABLE)
    assert isinstance(result, RatedUsage) and result.amount_minor == MAX_CHARGE_MINOR
    assert gross_from_net(MAX_CHARGE_MINOR, D(18)) * 100_000 < INT64_MAX  # a batch of them


def test_an_unaffordable_plan_is_refused_not_raised_nor_beyond_int64():
    for rate in ("1E+20", "1E+28"):
        result = allowance(
            Request(Service.VOICE, MOBILE, MONDAY),
            voice_plan(rate),
            TABLE,
            None,
            lambda net: gross_from_net(net, D(18)),
        )
        assert (result.allowed, result.reason) == (False, "price_out_of_range")
        assert result.first_charge_minor is None


def test_a_budget_without_limit_stops_where_the_price_would_leave_the_range():
    # 1e9 TZS a minute: the first minutes fit, four hours would not.
    result = allowance(Request(Service.VOICE, MOBILE, MONDAY), voice_plan("1E+9"), TABLE, None)
    assert result.allowed and 60 <= result.max_seconds < 4 * 3600
    assert rate_usage(call(result.max_seconds), voice_plan("1E+9"), TABLE).amount_minor <= (
        MAX_CHARGE_MINOR
    )


def test_messages_beyond_the_ceiling_are_refused():
    plan = RatePlan("S", Currency.TZS, units={(Service.SMS, "TZ-MOB"): UnitRate(D("1E+28"))})
    result = allowance(Request(Service.SMS, MOBILE, MONDAY), plan, TABLE, 1_000_00)
    assert (result.allowed, result.reason) == (False, "price_out_of_range")
