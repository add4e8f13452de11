"""Usage on the wire: the platform's CDR and message records, and the usage list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from billing.rating.message_status import STATUSES
from billing.rating.plans import Service
from billing.usage.events import Disposition
from billing.usage.tally import Tally
from billing.web.fields import Day, Instant
from billing.web.pagination import PageArgs

MAX_BATCH = 10_000
_DISPOSITIONS = [d.value for d in Disposition] + ["NO ANSWER"]
_TIMED = [Service.VOICE.value, Service.AI_AGENT_MINUTES.value, Service.RECORDING_MINUTES.value]


class _AnyItems(fields.List):
    """A list whose items are `Raw` (taken as they are, `null` too): a JSON array is read
    as its list without a field call an item (a tenth of a batch's Python time in
    marshmallow). Anything else, or another item field, is read by `List` itself."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list:
        inner = self.inner
        if (type(value) is list and type(inner) is fields.Raw and inner.allow_none
                and not inner.validators):  # fmt: skip
            return list(value)
        return super()._deserialize(value, attr, data, **kwargs)


class BatchSchema(Schema):
    records = _AnyItems(
        # Anything: each record is validated on its own, so a bad one (even `null` or a
        # string) is kept rejected with its reason and the rest go in.
        fields.Raw(allow_none=True, metadata={"description": "a record: CdrSchema, MessageSchema"}),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH, error="between 1 and 10,000 records"),
    )


class _Record(Schema):
    source_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    source_system = fields.String(load_default="platform", validate=validate.Length(1, 40))
    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


class CdrSchema(_Record):
    """One call (or AI-agent / recording session) as the platform saw it."""

    service = fields.String(load_default="voice", validate=validate.OneOf(_TIMED))
    caller = fields.String(load_default="", validate=validate.Length(max=40))
    callee = fields.String(required=True, validate=validate.Length(min=1, max=40))
    started_at = Instant(required=True)
    answered_at = Instant(load_default=None)
    ended_at = Instant(load_default=None)
    duration_s = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    billsec_s = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    disposition = fields.String(
        required=True, validate=validate.OneOf(_DISPOSITIONS, error="one of {choices}")
    )
    account = fields.String(load_default="", validate=validate.Length(max=80))
    linked_id = fields.String(load_default="", validate=validate.Length(max=200))

    @validates_schema
    def _billsec_within_duration(self, data: dict, **_kwargs) -> None:
        if data.get("billsec_s", 0) > data.get("duration_s", 0):
            raise ValidationError("billsec_s exceeds duration_s", "billsec_s")


MESSAGE_STATUSES = sorted(STATUSES)


class MessageSchema(_Record):
    """One SMS or WhatsApp message and how far it got."""

    channel = fields.String(required=True, validate=validate.OneOf(["sms", "whatsapp"]))
    sender = fields.String(load_default="", validate=validate.Length(max=40))
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=40))
    body = fields.String(load_default=None, validate=validate.Length(max=10_000))
    segments = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))
    category = fields.String(
        load_default="",
        validate=validate.OneOf(["", "marketing", "utility", "authentication", "service"]),
    )
    pricing_type = fields.String(
        load_default="regular",
        validate=validate.OneOf(["regular", "free_customer_service", "free_entry_point"]),
    )
    sent_at = Instant(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(MESSAGE_STATUSES),
        metadata={
            "description": "the status this report gives; a later report of the same"
            " source_id with a status not seen before is a new revision of the record,"
            " re-rated (charged on the first chargeable status, once); one seen before is"
            " a duplicate"
        },
    )

    @validates_schema
    def _needs_what_was_sent(self, data: dict, **_kwargs) -> None:
        if data.get("channel") == "sms" and data.get("body") is None and not data.get("segments"):
            raise ValidationError("an SMS needs body or segments", "body")
        if data.get("channel") == "whatsapp" and not data.get("category"):
            raise ValidationError("a WhatsApp message needs its template category", "category")


class OutcomeSchema(Schema):
    index = fields.Integer()
    source_id = fields.String(allow_none=True)
    status = fields.String(
        metadata={
            "description": "accepted (stored), updated (a new status of a stored message,"
            " re-rated), duplicate, or rejected (stored, not rateable or malformed: `reason`)"
        }
    )
    reason = fields.String(allow_none=True)
    usage_id = fields.String(allow_none=True)
    usage_status = fields.String(
        allow_none=True,
        metadata={"description": "the record as stored: billed, accrued, unbilled, pending…"},
    )


class _Tallied(Schema):
    """What became of the records (billing.usage.tally), each kind counted on its own."""

    accepted = fields.Integer(metadata={"description": "rated + pending"})
    duplicates = fields.Integer()
    rejected = fields.Integer(metadata={"description": "not rateable + malformed"})
    rated = fields.Integer(metadata={"description": "billed, accrued or unbilled"})
    pending = fields.Integer(metadata={"description": "stored, to be rated by the job"})
    updated = fields.Integer(metadata={"description": "new statuses of stored messages"})
    malformed = fields.Integer()
    not_rateable = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "reason (no_destination, unknown_tenant…) -> records"},
    )


class IntakeResultSchema(_Tallied):
    results = fields.List(fields.Nested(OutcomeSchema))


_TALLIED = ("accepted", "duplicates", "rejected", "rated", "pending", "updated", "malformed")


def intake_result(outcomes: Sequence[Any]) -> dict[str, Any]:
    """`IntakeResultSchema().dump` of a batch's outcomes (`intake.Outcome`), built directly.

    Dumping 1,000 outcomes through the nested schema cost a third of a batch's Python
    time (six field objects an outcome). The same dict, key for key and type for type:
    counts as ints, ids as strings, None kept. Equivalence: tests/unit/usage.
    """
    tally = Tally().add(outcomes)
    answer: dict[str, Any] = {name: getattr(tally, name) for name in _TALLIED}
    answer["not_rateable"] = {str(kind): int(n) for kind, n in tally.not_rateable.items()}
    answer["results"] = [
        {
            "index": index,
            "source_id": None if source_id is None else str(source_id),
            "status": None if status is None else str(status),
            "reason": None if reason is None else str(reason),
            "usage_id": None if usage_id is None else str(usage_id),
            "usage_status": None if usage_status is None else str(usage_status),
        }
        for index, source_id, status, reason, usage_id, usage_status in outcomes
    ]
    return answer


class ImportArgs(Schema):
    format = fields.String(
        required=True, validate=validate.OneOf(["asterisk", "freeswitch", "generic"])
    )
    tenant_id = fields.String(
        load_default=None,
        metadata={"description": "every row's tenant; default: each row's account code"},
    )
    # Asterisk cdr.conf [csv]: which optional columns the file has, and its clock.
    loguniqueid = fields.Boolean(load_default=True)
    loguserfield = fields.Boolean(load_default=True)
    newcdrcolumns = fields.Boolean(load_default=False)
    usegmtime = fields.Boolean(load_default=False)
    template = fields.String(
        load_default="example",
        validate=validate.OneOf(["example", "asterisk"]),
        metadata={"description": "FreeSWITCH mod_cdr_csv template"},
    )
    timezone = fields.String(load_default="Africa/Dar_es_Salaam")

    @validates_schema
    def _known_zone(self, data: dict, **_kwargs) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(data.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("not an IANA time zone", "timezone") from None


class ImportSummarySchema(_Tallied):
    rows = fields.Integer()
    rejected_samples = fields.List(fields.Dict())


class UsageListArgs(PageArgs):
    tenant_id = fields.String(load_default=None)
    start = Day(load_default=None, metadata={"description": "first local day (EAT)"})
    end = Day(
        load_default=None,
        metadata={
            "description": "last local day (EAT), inclusive: `start=end` lists one day"
            " (the list is of days; a billing period's `end` is the day after instead)"
        },
    )
    service = fields.String(load_default=None, validate=validate.OneOf([s.value for s in Service]))
    destination = fields.String(
        load_default=None, metadata={"description": "number prefix (E.164 digits) or zone"}
    )
    status = fields.String(load_default=None)

    @validates_schema
    def _ordered(self, data: dict, **_kwargs) -> None:
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError("must be on or after start", "end")


class UsageItemSchema(Schema):
    id = fields.String()
    tenant_id = fields.String(allow_none=True)
    source_system = fields.String()
    source_id = fields.String(allow_none=True)
    service = fields.String()
    destination = fields.String(attribute="to_number")
    occurred_at = Instant()
    billable_s = fields.Integer()
    units = fields.Integer()
    status = fields.String()
    reason = fields.String(allow_none=True)
    zone = fields.String(allow_none=True)
    band = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    billed_units = fields.Integer(allow_none=True)
    bundle_units = fields.Integer(allow_none=True)
    currency = fields.String(allow_none=True)
    net = fields.Integer(attribute="net_minor", allow_none=True)
    vat = fields.Integer(attribute="vat_minor", allow_none=True)
    raw_amount = fields.String(allow_none=True)
    fx_rate = fields.Decimal(as_string=True, allow_none=True)
    plan_id = fields.String(allow_none=True)
    plan_version = fields.Integer(allow_none=True)
    breakdown = fields.Dict(allow_none=True)
    ledger_transaction_id = fields.String(allow_none=True)
    superseded_by_id = fields.String(allow_none=True)


class TotalsSchema(Schema):
    records = fields.Integer()
    billed_units = fields.Integer()
    net = fields.Integer()
    vat = fields.Integer()
    currency = fields.String(allow_none=True)


class UsagePageSchema(Schema):
    items = fields.List(fields.Nested(UsageItemSchema))
    totals = fields.Nested(TotalsSchema)
    next_cursor = fields.String(allow_none=True)


class RetryArgs(Schema):
    tenant_id = fields.String(load_default=None)


class RerateSchema(Schema):
    tenant_id = fields.String(required=True)
    start = Day(required=True)
    end = Day(required=True)

    @validates_schema
    def _ordered(self, data: dict, **_kwargs) -> None:
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("end is after start", "end")


class RerateSummarySchema(Schema):
    examined = fields.Integer()
    changed = fields.Integer()
    unratable = fields.Integer()
    net_difference = fields.Integer(metadata={"description": "new net - old net, changed rows"})
    ledger_transaction_id = fields.Function(
        lambda s: str(s.ledger_transaction_id) if s.ledger_transaction_id else None,
        allow_none=True,
        metadata={"description": "prepaid: the posting of the difference"},
    )
    credit_note_ids = fields.List(
        fields.String(),
        metadata={"description": "draft credit notes for decreases on finalised invoices"},
    )
    adjustments_minor = fields.Integer(
        metadata={
            "description": "increases on finalised invoices, billed by the next draft, less"
            " what decreases took back of those still pending"
        }
    )


class BundleArgs(Schema):
    tenant_id = fields.String(load_default=None)
    at = Instant(
        load_default=None, metadata={"description": "the instant whose periods to show; now"}
    )


class BundleBalanceSchema(Schema):
    bundle = fields.String()
    service = fields.String()
    period = fields.String(metadata={"description": "day, week or month"})
    period_start = Day(metadata={"description": "first local day"})
    period_end = Day(metadata={"description": "day after the last"})
    units_granted = fields.Integer()
    units_used = fields.Integer()
    units_remaining = fields.Integer()


class BundlesSchema(Schema):
    tenant_id = fields.String()
    at = fields.DateTime()
    items = fields.List(fields.Nested(BundleBalanceSchema))
