"""Tariff resources on the wire: rate plans, assignments, destinations, FX, authorisation."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from billing.core.money import Currency
from billing.rating.allowance import MAX_MESSAGES, MAX_SESSION_S
from billing.tariffs.authorisation import Authorisation
from billing.tariffs.plan_schemas import NAME, PlanDefinitionSchema, RateEntriesSchema
from billing.web.fields import Day, DecimalString, Instant, StrictBoolean


class VersionSummarySchema(Schema):
    version = fields.Integer()
    valid_from = Instant()
    valid_to = Instant(allow_none=True)
    created_at = Instant()


class RatePlanSchema(PlanDefinitionSchema):
    """A plan at one version: its definition, and the list of all its versions."""

    id = fields.String()
    code = fields.String()
    name = fields.String()
    version = fields.Integer()
    latest_version = fields.Integer()
    valid_from = Instant()
    valid_to = Instant(allow_none=True)
    created_at = Instant()
    versions = fields.List(fields.Nested(VersionSummarySchema))


class RatePlanArgs(Schema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))


class AssignmentCreateSchema(Schema):
    plan_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    valid_from = Instant(load_default=None)
    valid_to = Instant(load_default=None, allow_none=True)
    overrides = fields.Nested(RateEntriesSchema, load_default=None, allow_none=True)
    credit_limit = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "postpaid: most one authorisation may cover, minor units"},
    )


class AssignmentSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    plan_id = fields.String()
    valid_from = Instant()
    valid_to = Instant(allow_none=True)
    overrides = fields.Dict()
    credit_limit = fields.Integer(attribute="credit_limit_minor", allow_none=True)
    created_at = Instant()


class TenantPlanSchema(Schema):
    tenant_id = fields.String()
    current = fields.Nested(AssignmentSchema, allow_none=True)
    plan_version = fields.Integer(allow_none=True)
    assignments = fields.List(fields.Nested(AssignmentSchema))


class DestinationLoadSchema(Schema):
    loaded = fields.Integer()
    superseded = fields.Integer()
    unchanged = fields.Integer()


class LookupArgs(Schema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    at = Instant(load_default=None)


class DestinationSchema(Schema):
    number = fields.String()
    prefix = fields.String(attribute="destination.prefix")
    zone = fields.String(attribute="destination.zone")
    country = fields.String(attribute="destination.country")
    operator = fields.String(attribute="destination.operator")
    market = fields.String(attribute="destination.market")
    valid_from = Instant(attribute="destination.effective_from", allow_none=True)
    valid_to = Instant(attribute="destination.effective_to", allow_none=True)


class FxRateCreateSchema(Schema):
    day = Day(required=True)
    base_currency = fields.Enum(Currency, by_value=True, load_default=Currency.USD)
    quote_currency = fields.Enum(Currency, by_value=True, load_default=Currency.TZS)
    rate = DecimalString(
        required=True,
        integer_digits=6,
        places=6,
        positive=True,
        # Below a million either way: a price (below 10 million) converted at it, or at its
        # inverse, stays inside a bigint of minor units for a day-long call.
        metadata={"description": "quote units per base unit (TZS per USD)"},
    )
    source = fields.String(required=True, validate=validate.Length(min=1, max=100))


class FxRateSchema(FxRateCreateSchema):
    rate = fields.Decimal(as_string=True)


class AuthorizeSchema(Schema):
    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    service = fields.String(required=True, validate=validate.OneOf(["voice", "sms", "whatsapp"]))
    destination = fields.String(required=True, validate=validate.Length(min=1, max=40))
    segments = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=255))
    category = fields.String(load_default="marketing", validate=NAME)
    reserve = StrictBoolean(
        load_default=True,
        metadata={"description": "hold the answer until its usage is rated (or it expires)"},
    )
    session_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "the id the usage will be reported under (its source_id): the"
            " rated record settles this reservation; a new authorisation of the same"
            " session replaces it"
        },
    )
    seconds = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(min=1, max=MAX_SESSION_S),
        metadata={"description": "voice: hold at most this long (a debit interval)"},
    )
    messages = fields.Integer(
        strict=True,
        load_default=1,
        validate=validate.Range(min=1, max=MAX_MESSAGES),
        metadata={"description": "messages about to be sent: what is held"},
    )

    def load(self, data, *, many=None, partial=None, unknown=None):  # type: ignore[override]
        """A common, valid body is read directly (`read_authorize`); anything else by the
        schema, which names what is wrong."""
        if many is None and partial is None and unknown is None:
            read = read_authorize(data)
            if read is not None:
                return read
        return super().load(data, many=many, partial=partial, unknown=unknown)


_AUTHORIZE_FIELDS = frozenset(AuthorizeSchema._declared_fields)
_AUTHORIZE_SERVICES = frozenset(("voice", "sms", "whatsapp"))


def _text(value: object, longest: int) -> bool:
    return type(value) is str and 1 <= len(value) <= longest


def _whole(value: object, longest: int) -> bool:
    return type(value) is int and 1 <= value <= longest  # a bool is no int here, nor there


def read_authorize(data: object) -> dict | None:
    """What `AuthorizeSchema().load(data)` returns, or None to let the schema decide.

    The platform asks this on every call it places: marshmallow's per-field machinery
    (nine fields, their validators and error bookkeeping) was a tenth of the answer's
    CPU. Exactly the documented fields with exactly their types and bounds give the same
    data read here; a missing or unknown field, another type, a bound crossed returns
    None. Equivalence: tests/unit/tariffs/test_fast_authorize.py."""
    if type(data) is not dict or not data.keys() <= _AUTHORIZE_FIELDS:
        return None
    get = data.get
    tenant_id, service, destination = get("tenant_id"), get("service"), get("destination")
    segments, reserve = get("segments", 1), get("reserve", True)
    category = get("category", "marketing")
    session_id, seconds, messages = get("session_id"), get("seconds"), get("messages", 1)
    if not (_text(tenant_id, 40) and type(service) is str and service in _AUTHORIZE_SERVICES
            and _text(destination, 40) and _whole(segments, 255)
            and type(category) is str and NAME.regex.match(category) is not None
            and type(reserve) is bool and (session_id is None or _text(session_id, 200))
            and (seconds is None or _whole(seconds, MAX_SESSION_S))
            and _whole(messages, MAX_MESSAGES)):  # fmt: skip
        return None
    return {
        "tenant_id": tenant_id, "service": service, "destination": destination,
        "segments": segments, "category": category, "reserve": reserve,
        "session_id": session_id, "seconds": seconds, "messages": messages,
    }  # fmt: skip


class AuthorizationSchema(Schema):
    tenant_id = fields.String()
    service = fields.String()
    destination = fields.String()
    allowed = fields.Boolean()
    reason = fields.Function(lambda a: a.reason or None)
    max_seconds = fields.Integer(allow_none=True)
    max_messages = fields.Integer(allow_none=True)
    currency = fields.String()
    available = fields.Integer(attribute="available_minor", allow_none=True)
    rate = fields.Dict(allow_none=True)
    reservation_id = fields.Function(
        lambda a: None if a.reservation_id is None else str(a.reservation_id), allow_none=True
    )
    reserved = fields.Integer(
        attribute="reserved_minor",
        allow_none=True,
        metadata={"description": "held by this answer until rated, VAT included"},
    )
    expires_at = Instant(allow_none=True)

    def dump(self, obj, *, many=None):  # type: ignore[override]
        """An answer is written directly (`write_authorization`), on every call placed."""
        if many is None and type(obj) is Authorisation:
            return write_authorization(obj)
        return super().dump(obj, many=many)


_EXPIRES = AuthorizationSchema._declared_fields["expires_at"]


def write_authorization(answer: Any) -> dict:
    """What `AuthorizationSchema().dump(answer)` returns for an `Authorisation`, without
    marshmallow's per-field machinery (a twentieth of the answer's CPU). Equivalence:
    tests/unit/tariffs/test_fast_authorize.py."""
    expires_at = answer.expires_at
    return {
        "tenant_id": str(answer.tenant_id), "service": str(answer.service),
        "destination": str(answer.destination), "allowed": bool(answer.allowed),
        "reason": answer.reason or None, "max_seconds": _integer(answer.max_seconds),
        "max_messages": _integer(answer.max_messages), "currency": str(answer.currency),
        "available": _integer(answer.available_minor),
        "rate": None if answer.rate is None else dict(answer.rate),
        "reservation_id": None if answer.reservation_id is None else str(answer.reservation_id),
        "reserved": _integer(answer.reserved_minor),
        "expires_at": None if expires_at is None else _EXPIRES._serialize(expires_at, "", answer),
    }  # fmt: skip


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)
