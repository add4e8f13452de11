"""The standard destinations and default plan: every Tanzanian kind of number lands in
its zone, every country has one, and the default plan prices them all."""

from datetime import UTC, datetime

import pytest

from billing.rating.destinations import Destination, DestinationTable
from billing.rating.plans import Service
from billing.rating.rater import rate_usage
from billing.rating.records import RatedUsage, UsageRecord
from billing.tariffs.codec import build_plan
from billing.tariffs.seed import default_plan_definition, destination_rows

TABLE = DestinationTable(
    Destination(r["prefix"], r["zone"], r["country"], r["operator"], r["market"])
    for r in destination_rows()
)
NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("number", "zone", "market"),
    [
        ("255754000111", "TZ-MOB-VODACOM", "rest_of_africa"),
        ("255784000111", "TZ-MOB-AIRTEL", "rest_of_africa"),
        ("255654000111", "TZ-MOB-YAS", "rest_of_africa"),
        ("255714000111", "TZ-MOB-YAS", "rest_of_africa"),
        ("255624000111", "TZ-MOB-HALOTEL", "rest_of_africa"),
        ("255734000111", "TZ-MOB-TTCL", "rest_of_africa"),
        ("255222123456", "TZ-FIX", "rest_of_africa"),
        ("255800123456", "TZ-TOLLFREE", "rest_of_africa"),
        ("255901234567", "TZ-PREMIUM", "rest_of_africa"),
        ("254712345678", "INT-KE-MOB", "rest_of_africa"),
        ("254201234567", "INT-KE", "rest_of_africa"),
        ("2348012345678", "INT-NG", "nigeria"),
        ("12125551234", "INT-US", "other"),
        ("447911123456", "INT-GB", "other"),
        ("88213412345", "INT-GLOBAL", ""),
    ],
)
def test_numbers_land_in_their_zones(number, zone, market):
    found = TABLE.match(number, NOW)
    assert (found.zone, found.market) == (zone, market)


def test_prefixes_are_unique_and_tanzania_is_only_in_tz_zones():
    rows = destination_rows()
    prefixes = [r["prefix"] for r in rows]
    assert len(prefixes) == len(set(prefixes))
    assert "255" not in prefixes  # no catch-all: an unplanned +255 range is not guessed
    assert {r["zone"] for r in rows if r["prefix"].startswith("255")} == {
        "TZ-MOB-VODACOM", "TZ-MOB-AIRTEL", "TZ-MOB-YAS", "TZ-MOB-HALOTEL", "TZ-MOB-TTCL",
        "TZ-FIX", "TZ-TOLLFREE", "TZ-PREMIUM",
    }  # fmt: skip
    assert len({r["zone"] for r in rows if r["zone"].startswith("INT-")}) > 200


def test_the_default_plan_prices_a_call_and_an_sms_to_every_zone():
    plan = build_plan("TZ-STANDARD", default_plan_definition())
    for row in destination_rows():
        number = (row["prefix"] + "123456789012")[:12]
        call = UsageRecord("c", Service.VOICE, NOW, number, billable_s=61)
        sms = UsageRecord("s", Service.SMS, NOW, number, units=1)
        for record in (call, sms):
            assert isinstance(rate_usage(record, plan, TABLE), RatedUsage), (row, record)


def test_default_prices():
    plan = build_plan("TZ-STANDARD", default_plan_definition())

    def amount(number: str, billable_s: int = 0, service: Service = Service.VOICE) -> int:
        record = UsageRecord("x", service, NOW, number, billable_s=billable_s, units=1)
        return rate_usage(record, plan, TABLE).amount_minor

    assert amount("255754000111", 61) == 71_17  # 60/1 at 70.00 peak (12:00 Dar, Monday)
    assert amount("255800123456", 600) == 0  # toll-free
    assert amount("255901234567", 61) == 1_300_00  # 100.00 connect + 2 minutes at 600.00
    assert amount("447911123456", 61) == 2_400_00  # 60/60 at 1,200.00
    assert amount("255754000111", service=Service.SMS) == 22_00
