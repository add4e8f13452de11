"""The platform's JSON records (POST /v1/usage/cdrs and /messages) as rows to store.

Each record is validated on its own: one bad record is stored as rejected, with the
fields that were wrong, and the rest of the batch goes on.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from billing.rating import message_status
from billing.rating.plans import Service
from billing.rating.segments import count_segments
from billing.usage.events import Disposition, UsageEvent
from billing.usage.fast_records import fast_cdr, fast_message
from billing.usage.intake import event_row, malformed_row
from billing.usage.numbers import to_e164
from billing.usage.schemas import CdrSchema, MessageSchema
from billing.web.problems import flatten_field_errors

_cdr = CdrSchema()
_message = MessageSchema()


def cdr_rows(records: list[Any]) -> list[dict]:
    return [_row(record, _cdr, _cdr_event, fast_cdr) for record in records]


def message_rows(records: list[Any]) -> list[dict]:
    return [_row(record, _message, _message_event, fast_message) for record in records]


def _row(record: Any, schema: Schema, build, fast) -> dict:
    if not isinstance(record, dict):
        return malformed_row("platform", "a record is a JSON object", record)
    sender_id = record.get("source_id")
    try:
        data = fast(record)  # the common valid record; None: the schema reads it
        if data is None:
            data = schema.load(record)
    except ValidationError as error:
        fields = flatten_field_errors(error.messages)
        reason = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        return malformed_row(
            str(record.get("source_system") or "platform")[:40],
            reason,
            record,
            record.get("tenant_id"),
            sender_id,
        )
    try:
        return build(data)
    except UnicodeError:
        # A lone surrogate (from a JSON escape like \ud800) has no UTF-8 or UTF-16 form.
        reason = f"{_text_field(record)}: holds a lone surrogate, which no encoding can "
        reason += "carry; send the text as valid Unicode"
        return malformed_row(data["source_system"], reason, record, data["tenant_id"], sender_id)
    except ValueError as error:
        reason = str(error)
        return malformed_row(data["source_system"], reason, record, data["tenant_id"], sender_id)


def _text_field(record: dict) -> str:
    """The first field whose text cannot be encoded (for the reason), else `a text field`."""
    for name, value in record.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeError:
                return str(name)
    return "a text field"


def _number(text: str, name: str) -> str:
    digits = to_e164(text)
    if not digits:
        raise ValueError(f"{name}: no dialable number in {text!r}")
    return digits


def _cdr_event(data: dict) -> dict:
    disposition = Disposition(data["disposition"].replace(" ", "_"))
    event = UsageEvent(
        source_system=data["source_system"],
        source_id=data["source_id"],
        service=Service(data["service"]),
        from_number=data["caller"],
        to_number=_number(data["callee"], "callee"),
        started_at=data["started_at"],
        answered_at=data["answered_at"],
        ended_at=data["ended_at"],
        duration_s=data["duration_s"],
        billable_s=data["billsec_s"],
        disposition=disposition,
        account=data["account"],
        linked_id=data["linked_id"],
    )
    return event_row(event, data["tenant_id"])


def _message_event(data: dict) -> dict:
    channel = Service(data["channel"])
    status = data["status"]
    if channel is Service.SMS:
        units = data["segments"] or count_segments(data["body"]).segments
    else:
        units = 1
    event = UsageEvent(
        source_system=data["source_system"],
        source_id=data["source_id"],
        service=channel,
        from_number=data["sender"],
        to_number=_number(data["recipient"], "recipient"),
        started_at=data["sent_at"],
        answered_at=None,
        ended_at=None,
        duration_s=0,
        billable_s=0,
        # One status is charged or not; a later one may make it CHARGED_FAILED (lifecycle).
        disposition=Disposition(message_status.disposition(channel.value, frozenset({status}))),
        units=units,
        category=data["category"],
        pricing_type=data["pricing_type"],
    )
    return event_row(event, data["tenant_id"], delivery_status=status)
