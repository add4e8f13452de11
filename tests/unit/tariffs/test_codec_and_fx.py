"""Plan definitions into rating plans, tenant overrides, and the FX book."""

from datetime import date
from decimal import Decimal as D

import pytest

from billing.core.errors import InvalidInput
from billing.core.money import Currency
from billing.rating.plans import ANY, Service
from billing.tariffs.codec import build_plan, merge_overrides
from billing.tariffs.fx import LOOKBACK_DAYS, FxBook
from billing.tariffs.plan_schemas import PlanDefinitionSchema, RateEntriesSchema
from billing.tariffs.seed import MOBILE_ZONES, default_plan_definition


def test_the_default_plan_builds_and_prices_every_seeded_zone():
    plan = build_plan("TZ-STANDARD", default_plan_definition())
    assert plan.currency is Currency.TZS
    for zone in MOBILE_ZONES:
        assert {"peak", "offpeak", "weekend"} <= set(plan.durations[(Service.VOICE, zone)])
        assert plan.unit_rate(Service.SMS, zone).price == D("22")
    peak = plan.duration_rate(Service.VOICE, "TZ-MOB-VODACOM", "peak")
    assert [(g.start_s, g.increment_s) for g in peak.groups] == [(0, 60), (60, 1)]
    assert plan.duration_rate(Service.VOICE, "INT-GB", ANY).groups[0].rate == D("1200")
    assert plan.schedule.default == "offpeak"


def test_a_stored_definition_loads_back_to_the_same_plan():
    definition = default_plan_definition()
    stored = PlanDefinitionSchema().dump(definition)
    assert PlanDefinitionSchema().load(stored) == definition
    assert build_plan("T", PlanDefinitionSchema().load(stored)) == build_plan("T", definition)


def test_overrides_replace_only_the_entries_they_name():
    definition = default_plan_definition()
    overrides = RateEntriesSchema().load(
        {
            "unit_rates": [{"service": "sms", "zone": "TZ-MOB-AIRTEL", "price": "15"}],
            "duration_rates": [
                {"service": "voice", "zone": "TZ-FIX", "rate": "40", "initial_increment_s": 1}
            ],
        }
    )
    merged = merge_overrides(definition, overrides)
    assert len(merged["unit_rates"]) == len(definition["unit_rates"])
    plan = build_plan("T", definition, overrides)
    assert plan.unit_rate(Service.SMS, "TZ-MOB-AIRTEL").price == D("15")
    assert plan.unit_rate(Service.SMS, "TZ-MOB-YAS").price == D("22")
    fixed = plan.duration_rate(Service.VOICE, "TZ-FIX", ANY)
    assert (fixed.groups[0].rate, fixed.groups[0].increment_s) == (D("40"), 1)
    assert merge_overrides(definition, {}) is definition


def test_what_the_rating_core_refuses_names_the_entry():
    definition = PlanDefinitionSchema().load(
        {
            "currency": "TZS",
            "duration_rates": [
                {"service": "voice", "zone": "*", "rate": "1"},
                {
                    "service": "voice",
                    "zone": "X",
                    "groups": [
                        {"start_s": 0, "rate": "1", "increment_s": 60},
                        {"start_s": 90, "rate": "1", "increment_s": 1},
                    ],
                },
            ],
        }
    )
    with pytest.raises(InvalidInput) as refused:
        build_plan("T", definition)
    assert list(refused.value.errors) == ["duration_rates.1"]
    assert "whole increment" in refused.value.errors["duration_rates.1"][0]


def book() -> FxBook:
    return FxBook(
        [
            (date(2026, 3, 2), "USD", "TZS", D("2500.00"), "BoT"),
            (date(2026, 3, 4), "USD", "TZS", D("2510.00"), "BoT"),
        ]
    )


def test_the_rate_of_the_day_or_the_latest_within_a_week():
    fx = book()
    assert fx.quote(Currency.USD, Currency.TZS, date(2026, 3, 2)).rate.rate == D("2500.00")
    monday = fx.quote(Currency.USD, Currency.TZS, date(2026, 3, 3))
    assert (monday.day, monday.rate.rate, monday.source) == (date(2026, 3, 2), D("2500.00"), "BoT")
    assert fx.quote(Currency.USD, Currency.TZS, date(2026, 3, 4 + LOOKBACK_DAYS)) is not None
    assert fx.quote(Currency.USD, Currency.TZS, date(2026, 3, 5 + LOOKBACK_DAYS)) is None
    assert fx.quote(Currency.USD, Currency.TZS, date(2026, 3, 1)) is None


def test_the_inverse_pair_is_derived_and_says_so():
    quote = book().quote(Currency.TZS, Currency.USD, date(2026, 3, 4))
    assert quote.rate.source is Currency.TZS and quote.rate.target is Currency.USD
    assert quote.rate.rate == D("0.000398406375")
    assert quote.source == "BoT (inverse)"
