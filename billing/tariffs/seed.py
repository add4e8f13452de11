"""The standard tariff: Tanzanian and international destinations and a default plan.

Zones follow the numbering plan (+255, NSN of 9 digits): mobile per operator by the
prefixes libphonenumber assigns (number portability makes them a hint, which is how
carriers price anyway), fixed lines (2x), toll-free (800) and premium (90); every other
country calling code is an `INT-<ISO>` zone. Prices are illustrative TZS, near TCRA's
reported retail averages (about TZS 70 a minute, TZS 22 an SMS); Meta's Rest of Africa
WhatsApp rates converted at about 2,450 TZS/USD. `seed_tariffs` is idempotent.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import phonenumbers
from sqlalchemy.orm import Session

from billing.tariffs.destination_store import LoadSummary, load_destination_file
from billing.tariffs.models import PlanAssignment
from billing.tariffs.plan_schemas import PlanDefinitionSchema
from billing.tariffs.rate_plans import SavedPlan, assign_plan, save_plan

DEFAULT_PLAN_CODE = "TZ-STANDARD"
STARTER_PLAN_CODE = "TZ-STARTER"  # the standard prices with monthly bundles (the demo's)
# The default plan and the seeded assignments reach back far enough to price any
# imported history; a real change is a new version from its own date.
SEED_VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
TZ_MARKET = "rest_of_africa"
TZ_MOBILE = {
    "HALOTEL": ("61", "62", "63"),
    "YAS": ("65", "67", "70", "71", "77"),
    "AIRTEL": ("66", "68", "69", "78"),
    "VODACOM": ("72", "74", "75", "76", "79"),
    "TTCL": ("73",),
}
MOBILE_ZONES = tuple(f"TZ-MOB-{operator}" for operator in TZ_MOBILE)
# Meta's WhatsApp pricing markets for the countries that have their own; Africa's others
# are "Rest of Africa".
_MARKETS = {"NG": "nigeria", "ZA": "south_africa", "EG": "egypt", "IN": "india"}
# fmt: off
_AFRICA = frozenset((
    "DZ", "AO", "BJ", "BW", "BF", "BI", "CM", "CV", "CF", "TD", "KM", "CG", "CD", "CI", "DJ",
    "GQ", "ER", "SZ", "ET", "GA", "GM", "GH", "GN", "GW", "KE", "LS", "LR", "LY", "MG", "MW",
    "ML", "MR", "MU", "MA", "MZ", "NA", "NE", "RW", "ST", "SN", "SC", "SL", "SO", "SS", "SD",
    "TZ", "TG", "TN", "UG", "ZM", "ZW",
))
# fmt: on


def destination_rows() -> list[dict[str, str]]:
    rows = [
        {
            "prefix": f"255{prefix}",
            "zone": f"TZ-MOB-{operator}",
            "name": f"Tanzania mobile {operator.title()}",
            "country": "TZ",
            "operator": operator.lower(),
            "market": TZ_MARKET,
        }
        for operator, prefixes in TZ_MOBILE.items()
        for prefix in prefixes
    ]
    rows += [
        {
            "prefix": "2552",
            "zone": "TZ-FIX",
            "name": "Tanzania fixed",
            "country": "TZ",
            "operator": "",
            "market": TZ_MARKET,
        },
        {
            "prefix": "255800",
            "zone": "TZ-TOLLFREE",
            "name": "Tanzania toll-free",
            "country": "TZ",
            "operator": "",
            "market": TZ_MARKET,
        },
        {
            "prefix": "25590",
            "zone": "TZ-PREMIUM",
            "name": "Tanzania premium rate",
            "country": "TZ",
            "operator": "",
            "market": TZ_MARKET,
        },
        {
            "prefix": "2547",
            "zone": "INT-KE-MOB",
            "name": "Kenya mobile",
            "country": "KE",
            "operator": "",
            "market": TZ_MARKET,
        },
        {
            "prefix": "2567",
            "zone": "INT-UG-MOB",
            "name": "Uganda mobile",
            "country": "UG",
            "operator": "",
            "market": TZ_MARKET,
        },
    ]
    for code, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        if code == 255:
            continue
        region = regions[0]
        if region == "001":  # non-geographic: satellite, international freephone…
            rows.append(
                {
                    "prefix": str(code),
                    "zone": "INT-GLOBAL",
                    "name": "International non-geographic",
                    "country": "",
                    "operator": "",
                    "market": "",
                }
            )
            continue
        market = _MARKETS.get(region) or (TZ_MARKET if region in _AFRICA else "other")
        rows.append(
            {
                "prefix": str(code),
                "zone": f"INT-{region}",
                "name": f"International {region}",
                "country": region,
                "operator": "",
                "market": market,
            }
        )
    return rows


def destinations_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=("prefix", "zone", "name", "country", "operator", "market")
    )
    writer.writeheader()
    writer.writerows(destination_rows())
    return out.getvalue()


def default_plan_definition() -> dict:
    """The default plan as `PlanDefinitionSchema` loads it."""
    bands = {
        "bands": [
            {"name": "weekend", "days": [5, 6], "start": "00:00", "end": "00:00"},
            {"name": "peak", "days": [0, 1, 2, 3, 4], "start": "07:00", "end": "19:00"},
        ],
        "default": "offpeak",
    }
    mobile = {"peak": "70", "offpeak": "55", "weekend": "50"}
    duration_rates = [
        {
            "service": "voice",
            "zone": zone,
            "band": band,
            "rate": price,
            "initial_increment_s": 60,
            "next_increment_s": 1,
        }
        for zone in MOBILE_ZONES
        for band, price in mobile.items()
    ]
    duration_rates += [
        {
            "service": "voice",
            "zone": "TZ-FIX",
            "rate": "60",
            "initial_increment_s": 60,
            "next_increment_s": 60,
        },
        {
            "service": "voice",
            "zone": "TZ-TOLLFREE",
            "rate": "0",
            "initial_increment_s": 1,
            "next_increment_s": 1,
        },
        {
            "service": "voice",
            "zone": "TZ-PREMIUM",
            "rate": "600",
            "connect_fee": "100",
            "initial_increment_s": 60,
            "next_increment_s": 60,
        },
        {
            "service": "voice",
            "zone": "INT-KE-MOB",
            "rate": "500",
            "initial_increment_s": 60,
            "next_increment_s": 1,
        },
        {
            "service": "voice",
            "zone": "INT-UG-MOB",
            "rate": "500",
            "initial_increment_s": 60,
            "next_increment_s": 1,
        },
        {
            "service": "voice",
            "zone": "*",
            "rate": "1200",
            "initial_increment_s": 60,
            "next_increment_s": 60,
        },
        {
            "service": "ai_agent_minutes",
            "zone": "*",
            "rate": "150",
            "initial_increment_s": 1,
            "next_increment_s": 1,
        },
        {
            "service": "recording_minutes",
            "zone": "*",
            "rate": "5",
            "initial_increment_s": 60,
            "next_increment_s": 60,
        },
    ]
    unit_rates = [{"service": "sms", "zone": zone, "price": "22"} for zone in MOBILE_ZONES]
    unit_rates += [
        {"service": "sms", "zone": "*", "price": "150"},
        {"service": "number_rental", "zone": "*", "price": "5000"},
    ]
    whatsapp_rates = [
        {"category": "marketing", "market": TZ_MARKET, "price": "55.13"},
        {"category": "utility", "market": TZ_MARKET, "price": "9.8"},
        {"category": "authentication", "market": TZ_MARKET, "price": "9.8"},
        {"category": "service", "market": TZ_MARKET, "price": "9.8"},
        {"category": "marketing", "market": "*", "price": "150"},
        {"category": "utility", "market": "*", "price": "40"},
        {"category": "authentication", "market": "*", "price": "40"},
        {"category": "service", "market": "*", "price": "40"},
    ]
    return PlanDefinitionSchema().load(
        {
            "currency": "TZS",
            "rounding": "half_up",
            "decimals": 2,
            "time_bands": bands,
            "duration_rates": duration_rates,
            "unit_rates": unit_rates,
            "whatsapp_rates": whatsapp_rates,
        }
    )


def starter_plan_definition() -> dict:
    """The standard plan with two monthly bundles, drawn before the wallet: two minutes
    of calls to Tanzanian mobiles (in billed seconds) and 100 SMS segments."""
    definition = default_plan_definition()
    definition["bundles"] = PlanDefinitionSchema().load(
        {
            "currency": "TZS",
            "bundles": [
                {
                    "name": "mobile-minutes",
                    "service": "voice",
                    "units": 120,
                    "zones": list(MOBILE_ZONES),
                },
                {"name": "sms-100", "service": "sms", "units": 100},
            ],
        }
    )["bundles"]
    return definition


def seed_destinations(session: Session) -> LoadSummary:
    return load_destination_file(session, io.StringIO(destinations_csv()))


def seed_tariffs(session: Session) -> SavedPlan:
    """The standard destinations and the default plan (version 1 unless it changed)."""
    seed_destinations(session)
    return save_plan(
        session,
        DEFAULT_PLAN_CODE,
        "Tanzania standard",
        default_plan_definition(),
        valid_from=SEED_VALID_FROM,
    )


def put_on_default_plan(session: Session, tenant_id: str) -> PlanAssignment:
    """Seed the standard tariff if need be and assign its plan to the tenant since 2020."""
    saved = seed_tariffs(session)
    return assign_plan(session, tenant_id, saved.plan.id, valid_from=SEED_VALID_FROM)


def put_on_starter_plan(session: Session, tenant_id: str) -> PlanAssignment:
    """The standard tariff seeded, and the starter plan (with bundles) assigned since 2020."""
    seed_tariffs(session)
    saved = save_plan(
        session,
        STARTER_PLAN_CODE,
        "Tanzania starter (with bundles)",
        starter_plan_definition(),
        valid_from=SEED_VALID_FROM,
    )
    return assign_plan(session, tenant_id, saved.plan.id, valid_from=SEED_VALID_FROM)
