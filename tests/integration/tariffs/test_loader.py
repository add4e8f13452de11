"""tariff_for: the tenant's plan in force, its destinations, FX, and the process cache."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing.core.errors import NotFound
from billing.core.money import Currency
from billing.rating.plans import Service
from billing.rating.rater import rate_usage
from billing.rating.records import UsageRecord
from billing.tariffs import fx
from billing.tariffs.cache import cached_plan_keys
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import DEFAULT_PLAN_CODE, default_plan_definition
from billing.tariffs.service import NoRatePlan, tariff_for
from tests.factories import on_default_plan

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Dar es Salaam: peak


def test_a_tenant_on_the_default_plan_rates_a_mobile_call(sessions, tenant):
    with sessions.begin() as session:
        on_default_plan(session, tenant.tenant_id)
    with sessions() as session:
        tariff = tariff_for(session, tenant.tenant_id, NOW)
    assert tariff.plan.code == DEFAULT_PLAN_CODE and tariff.plan_version >= 1
    assert tariff.fx_rate(NOW.date()) is None  # TZS plan, TZS tenant
    record = UsageRecord("c1", Service.VOICE, NOW, "255754000111", billable_s=61)
    rated = rate_usage(record, tariff.plan, tariff.destinations)
    # 60/1 at TZS 70 a minute (peak): 60 s + 1 s = 71.1666… → 71.17
    assert (rated.zone, rated.band, rated.amount_minor) == ("TZ-MOB-VODACOM", "peak", 7117)


def test_a_tenant_without_a_plan_gets_a_clear_error(sessions, tenant):
    with sessions() as session, pytest.raises(NoRatePlan) as raised:
        tariff_for(session, tenant.tenant_id, NOW)
    assert raised.value.status == 409 and "tenant_id" in raised.value.errors
    with sessions() as session, pytest.raises(NotFound):
        tariff_for(session, "ten_missing", NOW)


def test_an_assignment_applies_from_its_start(sessions, tenant):
    with sessions.begin() as session:
        saved = save_plan(session, _code(), "Later", default_plan_definition(), valid_from=NOW)
        assign_plan(session, tenant.tenant_id, saved.plan.id, valid_from=NOW)
    with sessions() as session:
        assert tariff_for(session, tenant.tenant_id, NOW).plan_id == saved.plan.id
        with pytest.raises(NoRatePlan):
            tariff_for(session, tenant.tenant_id, NOW - timedelta(seconds=1))


def test_a_new_version_replaces_the_cached_plan(sessions, tenant):
    definition = default_plan_definition()
    code = _code()
    with sessions.begin() as session:
        saved = save_plan(
            session, code, "Versioned", definition, valid_from=NOW - timedelta(days=30)
        )
        assign_plan(session, tenant.tenant_id, saved.plan.id, valid_from=NOW - timedelta(days=30))
    with sessions() as session:
        first = tariff_for(session, tenant.tenant_id, NOW)
        assert tariff_for(session, tenant.tenant_id, NOW).plan is first.plan  # served from cache
        assert (saved.plan.id, 1) in cached_plan_keys(session)
    cheaper = {
        **definition,
        "unit_rates": [{"service": "sms", "zone": "*", "price": Decimal("10")}],
    }
    with sessions.begin() as session:
        second = save_plan(session, code, "Versioned", cheaper, valid_from=NOW - timedelta(days=1))
    assert second.created and second.version.version == 2
    with sessions() as session:
        now_tariff = tariff_for(session, tenant.tenant_id, NOW)
        before = tariff_for(session, tenant.tenant_id, NOW - timedelta(days=2))
    assert now_tariff.plan_version == 2 and now_tariff.plan is not first.plan
    assert before.plan_version == 1  # usage before the new version still rates at version 1
    sms = UsageRecord("s1", Service.SMS, NOW, "255754000111", units=1)
    assert rate_usage(sms, now_tariff.plan, now_tariff.destinations).amount_minor == 10_00
    assert rate_usage(sms, before.plan, before.destinations).amount_minor == 22_00


def test_a_usd_plan_converts_at_the_stored_rate_of_the_day(sessions, make_tenant):
    tenant = make_tenant()
    usd = {**default_plan_definition(), "currency": Currency.USD}
    usd["unit_rates"] = [{"service": "sms", "zone": "*", "price": Decimal("0.01")}]
    day = date(2031, 3, 3)
    with sessions.begin() as session:
        saved = save_plan(session, _code(), "Dollar", usd, valid_from=NOW)
        assign_plan(session, tenant.tenant_id, saved.plan.id, valid_from=NOW)
        fx.record_rate(session, day, Currency.USD, Currency.TZS, Decimal("2450.50"), "BoT mean")
    at = datetime(2031, 3, 4, 9, tzinfo=UTC)  # no rate that day: the day before's applies
    with sessions() as session:
        tariff = tariff_for(session, tenant.tenant_id, at)
        quote = tariff.fx_quote(fx.day_of(at))
        assert (quote.day, quote.source, quote.rate.rate) == (day, "BoT mean", Decimal("2450.50"))
        with pytest.raises(fx.NoFxRate):
            tariff.fx_rate(date(2031, 4, 1))
    sms = UsageRecord("s1", Service.SMS, at, "255754000111", units=3)
    rated = rate_usage(sms, tariff.plan, tariff.destinations, fx=quote.rate)
    assert (rated.currency, rated.amount_minor) == (Currency.TZS, 73_52)  # 0.03 x 2450.50


def _code() -> str:
    import uuid

    return f"TEST-{uuid.uuid4().hex[:10]}"


def test_a_correcting_version_reaches_back_over_a_later_one(sessions, tenant):
    code = _code()
    definition = default_plan_definition()
    starts = [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)]
    with sessions.begin() as session:
        first = save_plan(session, code, "Corrected", definition, valid_from=starts[0])
        save_plan(session, code, "Corrected", {**definition, "decimals": 1}, valid_from=starts[1])
        # Version 3 corrects from March: it outranks version 2 from then on.
        save_plan(
            session,
            code,
            "Corrected",
            {**definition, "decimals": 0},
            valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        )
        assign_plan(session, tenant.tenant_id, first.plan.id, valid_from=starts[0])
    with sessions() as session:
        versions = [
            tariff_for(session, tenant.tenant_id, datetime(2026, month, 15, tzinfo=UTC))
            for month in (2, 4, 7)
        ]
    assert [t.plan_version for t in versions] == [1, 3, 3]
    assert [t.plan.decimals for t in versions] == [2, 0, 0]
