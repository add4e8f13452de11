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
from billing.usage.events import Disposition
from billing.usage.fast_records import fast_cdr, fast_message
from billing.usage.intake_rows import malformed_row
from billing.usage.models import UsageStatus
from billing.usage.numbers import to_e164
from billing.usage.schemas import _DISPOSITIONS, CdrSchema, MessageSchema
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


# The row as `intake.event_row` makes it of a `UsageEvent`, built here without the event
# (a frozen dataclass, then a dict, and an Enum lookup or `.value` a field: a fifth of a
# record's parsing). Equivalence: tests/unit/usage/test_submission_rows.py.
_DISPOSITION = {value.replace(" ", "_"): Disposition(value.replace(" ", "_")).value
                for value in _DISPOSITIONS}  # fmt: skip
_SERVICE = {service.value: service.value for service in Service}
_PENDING = UsageStatus.PENDING.value
_MESSAGE_DISPOSITION: dict[tuple[str, str], str] = {}


def _cdr_event(data: dict) -> dict:
    disposition = _DISPOSITION.get(data["disposition"].replace(" ", "_"))
    if disposition is None:
        disposition = Disposition(data["disposition"].replace(" ", "_")).value  # raises
    service = _SERVICE.get(data["service"]) or Service(data["service"]).value
    to_number = _number(data["callee"], "callee")
    started_at, answered_at = data["started_at"], data["answered_at"]
    return {
        "source_system": data["source_system"], "source_id": data["source_id"],
        "revision": 0, "tenant_id": data["tenant_id"] or None, "service": service,
        "from_number": data["caller"][:40], "to_number": to_number[:40],
        "occurred_at": answered_at or started_at, "started_at": started_at,
        "answered_at": answered_at, "ended_at": data["ended_at"],
        "duration_s": data["duration_s"], "billable_s": data["billsec_s"], "units": 1,
        "disposition": disposition, "category": "", "pricing_type": "regular",
        "delivery_status": "", "account": data["account"][:80],
        "linked_id": data["linked_id"][:200], "raw": None, "status": _PENDING,
        "reason": None, "received_at": None,
    }  # fmt: skip


def _message_event(data: dict) -> dict:
    channel = _SERVICE.get(data["channel"]) or Service(data["channel"]).value
    status = data["status"]
    if channel == Service.SMS.value:
        units = data["segments"] or count_segments(data["body"]).segments
    else:
        units = 1
    to_number = _number(data["recipient"], "recipient")
    # One status is charged or not; a later one may make it CHARGED_FAILED (lifecycle).
    disposition = _MESSAGE_DISPOSITION.get((channel, status))
    if disposition is None:
        disposition = Disposition(message_status.disposition(channel, frozenset({status}))).value
        if len(_MESSAGE_DISPOSITION) < 1_000:
            _MESSAGE_DISPOSITION[(channel, status)] = disposition
    sent_at = data["sent_at"]
    return {
        "source_system": data["source_system"], "source_id": data["source_id"],
        "revision": 0, "tenant_id": data["tenant_id"] or None, "service": channel,
        "from_number": data["sender"][:40], "to_number": to_number[:40],
        "occurred_at": sent_at, "started_at": sent_at, "answered_at": None,
        "ended_at": None, "duration_s": 0, "billable_s": 0, "units": units,
        "disposition": disposition, "category": data["category"],
        "pricing_type": data["pricing_type"], "delivery_status": status,
        "account": "", "linked_id": "", "raw": None, "status": _PENDING,
        "reason": None, "received_at": None,
    }  # fmt: skip
