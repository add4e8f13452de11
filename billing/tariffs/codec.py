"""Between a stored plan definition and the rating core's `RatePlan`.

`build_plan` takes a definition as `PlanDefinitionSchema` loads it (Decimals, times,
dates) and, optionally, a tenant's override entries, which replace the plan's entries
with the same key. The rating dataclasses check what the schema cannot (rate groups
ending on whole increments, a supported currency); their refusals come back as
`InvalidInput` naming the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from billing.core.errors import InvalidInput
from billing.rating.plans import (
    WHATSAPP_FREE_TYPES,
    Bundle,
    DurationRate,
    RateGroup,
    RatePlan,
    Service,
    UnitRate,
)
from billing.rating.timebands import BandSchedule, TimeBand

_RATE_LISTS: dict[str, Callable[[dict], tuple]] = {
    "duration_rates": lambda r: (r["service"], r["zone"], r["band"]),
    "unit_rates": lambda r: (r["service"], r["zone"]),
    "whatsapp_rates": lambda r: (r["category"], r["market"]),
}


def merge_overrides(definition: dict, overrides: dict | None) -> dict:
    """The definition with each override entry replacing the plan's entry of the same key."""
    if not overrides:
        return definition
    merged = dict(definition)
    for name, key in _RATE_LISTS.items():
        extra = overrides.get(name) or []
        if not extra:
            continue
        replaced = {key(entry) for entry in extra}
        merged[name] = [e for e in definition.get(name, []) if key(e) not in replaced] + list(extra)
    return merged


def build_plan(code: str, definition: dict, overrides: dict | None = None) -> RatePlan:
    data = merge_overrides(definition, overrides)
    durations: dict[tuple[Service, str], dict[str, DurationRate]] = {}
    for index, entry in enumerate(data.get("duration_rates", [])):
        rate = _refusing(f"duration_rates.{index}", _duration_rate, entry)
        durations.setdefault((Service(entry["service"]), entry["zone"]), {})[entry["band"]] = rate
    units = {
        (Service(entry["service"]), entry["zone"]): UnitRate(entry["price"])
        for entry in data.get("unit_rates", [])
    }
    whatsapp = {
        (entry["category"], entry["market"]): UnitRate(entry["price"])
        for entry in data.get("whatsapp_rates", [])
    }
    free_types = data.get("whatsapp_free_types")
    return _refusing(
        "currency",
        RatePlan,
        code=code,
        currency=data["currency"],
        durations=durations,
        units=units,
        whatsapp=whatsapp,
        whatsapp_free_types=WHATSAPP_FREE_TYPES if free_types is None else frozenset(free_types),
        refund_failed_messages=bool(data.get("refund_failed_messages", False)),
        bundles=tuple(_bundle(entry) for entry in data.get("bundles", [])),
        schedule=_refusing("time_bands", _schedule, data.get("time_bands") or {}),
        rounding=data.get("rounding", "half_up"),
        decimals=data.get("decimals", 2),
    )


def _duration_rate(entry: dict) -> DurationRate:
    options: dict[str, Any] = {
        "rate_unit_s": entry["rate_unit_s"],
        "connect_fee": entry["connect_fee"],
        "no_charge_s": entry["no_charge_s"],
        "minimum_charge": entry["minimum_charge"],
    }
    if entry.get("groups") is not None:
        groups = tuple(
            RateGroup(g["start_s"], g["rate"], g["increment_s"]) for g in entry["groups"]
        )
        return DurationRate(groups, **options)
    initial = entry.get("initial_increment_s") or 60
    following = entry.get("next_increment_s") or initial
    return DurationRate.per_increment(entry["rate"], initial, following, **options)


def _bundle(entry: dict) -> Bundle:
    return Bundle(
        name=entry["name"],
        service=Service(entry["service"]),
        units=entry["units"],
        zones=None if entry.get("zones") is None else frozenset(entry["zones"]),
        categories=None if entry.get("categories") is None else frozenset(entry["categories"]),
        period=entry.get("period", "month"),
    )


def _schedule(data: dict) -> BandSchedule:
    bands = tuple(
        TimeBand(band["name"], frozenset(band["days"]), band["start"], band["end"])
        for band in data.get("bands", [])
    )
    return BandSchedule(
        bands=bands,
        default=data.get("default", "standard"),
        tz=data.get("tz", "Africa/Dar_es_Salaam"),
        holidays=frozenset(data.get("holidays", [])),
        holiday_band=data.get("holiday_band", "weekend"),
    )


def _refusing(field: str, build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return build(*args, **kwargs)
    except (ValueError, KeyError) as error:  # ZoneInfoNotFoundError is a KeyError
        raise InvalidInput.on(field, str(error).strip("'\"")) from error
