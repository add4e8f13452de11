"""A rate plan's definition on the wire: what `POST /v1/rate-plans` takes and a version stores.

Prices are decimal strings in major units of the plan's currency (a JSON number is
refused: its float has already lost digits); a version stores the dumped form, so what comes back is
what was validated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from billing.core.money import Currency
from billing.rating.fixedpoint import Rounding
from billing.rating.plans import ANY, DURATION_SERVICES, Service
from billing.rating.timebands import DAR_ES_SALAAM
from billing.web.fields import Day, DecimalString, Instant, StrictBoolean

ZONE = validate.Regexp(
    r"^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,39})$", error="a zone is a code like TZ-MOB-VODACOM, or *"
)
NAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$", error="letters, digits, - _ . only")
DURATION = sorted(service.value for service in DURATION_SERVICES)
COUNTED = sorted(
    service.value
    for service in Service
    if service not in DURATION_SERVICES and service is not Service.WHATSAPP
)
PERIODS = ("day", "week", "month")


def _price(**kwargs: Any) -> DecimalString:
    """A price in major units: below 10 million, to a millionth of a minor unit (8 places),
    so a record's charge stays far inside a bigint of minor units."""
    return DecimalString(integer_digits=7, places=8, **kwargs)


class RateGroupSchema(Schema):
    start_s = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=86_400))
    rate = _price(required=True)
    increment_s = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=3600)
    )


class DurationRateSchema(Schema):
    """Timed usage in one zone and band: either `rate` with `initial_increment_s` /
    `next_increment_s` (the "60/1" notation), or explicit rate `groups`."""

    service = fields.String(required=True, validate=validate.OneOf(DURATION))
    zone = fields.String(required=True, validate=ZONE)
    band = fields.String(load_default=ANY, validate=ZONE)
    rate = _price(load_default=None)
    initial_increment_s = fields.Integer(
        strict=True, load_default=None, validate=validate.Range(min=1, max=3600)
    )
    next_increment_s = fields.Integer(
        strict=True, load_default=None, validate=validate.Range(min=1, max=3600)
    )
    groups = fields.List(
        fields.Nested(RateGroupSchema), load_default=None, validate=validate.Length(min=1, max=20)
    )
    rate_unit_s = fields.Integer(
        strict=True, load_default=60, validate=validate.Range(min=1, max=86_400)
    )
    connect_fee = _price(load_default=Decimal(0))
    no_charge_s = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=3600)
    )
    minimum_charge = _price(load_default=Decimal(0))

    @validates_schema
    def _rate_or_groups(self, data: dict, **_: Any) -> None:
        if (data.get("rate") is None) == (data.get("groups") is None):
            raise ValidationError("give either rate (with increments) or groups", "rate")
        if data.get("groups") is not None and (
            data.get("initial_increment_s") is not None or data.get("next_increment_s") is not None
        ):
            raise ValidationError("increments go inside groups when groups are given", "groups")


class UnitRateSchema(Schema):
    """Counted usage: SMS per segment per zone, number rental per month."""

    service = fields.String(required=True, validate=validate.OneOf(COUNTED))
    zone = fields.String(load_default=ANY, validate=ZONE)
    price = _price(required=True)


class WhatsAppRateSchema(Schema):
    category = fields.String(required=True, validate=NAME)
    market = fields.String(load_default=ANY, validate=ZONE)
    price = _price(required=True)


class BundleSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    service = fields.String(required=True, validate=validate.OneOf([s.value for s in Service]))
    units = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10**12))
    zones = fields.List(fields.String(validate=ZONE), load_default=None, allow_none=True)
    categories = fields.List(fields.String(validate=NAME), load_default=None, allow_none=True)
    period = fields.String(load_default="month", validate=validate.OneOf(PERIODS))


class TimeBandSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=0, max=6)),
        required=True,
        validate=validate.Length(min=1),
    )
    start = fields.Time(required=True, format="%H:%M")
    end = fields.Time(required=True, format="%H:%M")


class ScheduleSchema(Schema):
    bands = fields.List(fields.Nested(TimeBandSchema), load_default=list)
    default = fields.String(load_default="standard", validate=NAME)
    tz = fields.String(load_default=DAR_ES_SALAAM)
    holidays = fields.List(Day(), load_default=list)
    holiday_band = fields.String(load_default="weekend", validate=NAME)


class RateEntriesSchema(Schema):
    """The rate lists, on their own: what a tenant override carries."""

    duration_rates = fields.List(fields.Nested(DurationRateSchema), load_default=list)
    unit_rates = fields.List(fields.Nested(UnitRateSchema), load_default=list)
    whatsapp_rates = fields.List(fields.Nested(WhatsAppRateSchema), load_default=list)

    @validates_schema
    def _no_duplicates(self, data: dict, **_: Any) -> None:
        for name, key in (
            ("duration_rates", lambda r: (r["service"], r["zone"], r["band"])),
            ("unit_rates", lambda r: (r["service"], r["zone"])),
            ("whatsapp_rates", lambda r: (r["category"], r["market"])),
        ):
            seen: set = set()
            for index, entry in enumerate(data.get(name, [])):
                if key(entry) in seen:
                    raise ValidationError({str(index): ["the same rate is given twice"]}, name)
                seen.add(key(entry))


class PlanDefinitionSchema(RateEntriesSchema):
    currency = fields.Enum(Currency, by_value=True, required=True)
    rounding = fields.Enum(Rounding, by_value=True, load_default=Rounding.HALF_UP)
    decimals = fields.Integer(strict=True, load_default=2, validate=validate.Range(min=0, max=2))
    time_bands = fields.Nested(ScheduleSchema, load_default=dict)
    whatsapp_free_types = fields.List(
        fields.String(validate=NAME), load_default=None, allow_none=True
    )
    bundles = fields.List(fields.Nested(BundleSchema), load_default=list)
    refund_failed_messages = StrictBoolean(
        load_default=False,
        metadata={
            "description": "a message charged (accepted, delivered) and then reported"
            " failed is refunded; otherwise it stays charged"
        },
    )

    @validates_schema
    def _unique_bundles(self, data: dict, **_: Any) -> None:
        names = [b["name"] for b in data.get("bundles", [])]
        if len(names) != len(set(names)):
            raise ValidationError("bundle names must be unique", "bundles")


class RatePlanCreateSchema(PlanDefinitionSchema):
    code = fields.String(required=True, validate=NAME)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    valid_from = Instant(load_default=None)
    valid_to = Instant(load_default=None, allow_none=True)
