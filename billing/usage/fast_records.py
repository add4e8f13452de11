"""The platform's common, valid record read without marshmallow's per-field machinery.

A batch of 1,000 CDRs spent most of its Python time in `CdrSchema.load` (about 0.1 ms a
record: a dozen field objects, each with its validators and error bookkeeping). A record
that is a plain dict of exactly the documented fields and types, every value within its
bounds, gives the same data read here directly; anything else (a missing or unknown
field, a wrong type, a bound crossed) returns None and goes through the schema, which
names what is wrong. The timestamps go through the schema's own `Instant` fields, so
they are read exactly as the schema reads them. Equivalence: tests/unit/usage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from billing.usage.schemas import _DISPOSITIONS, _TIMED, CdrSchema, MessageSchema
from billing.web.fields import FIRST_DAY, LAST_DAY

_cdr = CdrSchema()
_message = MessageSchema()
_CDR_FIELDS = frozenset(_cdr.fields)
_MESSAGE_FIELDS = frozenset(_message.fields)
_SERVICES = frozenset(_TIMED)
_DISPOSITION_SET = frozenset(_DISPOSITIONS)
_CHANNELS = frozenset(("sms", "whatsapp"))
_STATUSES = frozenset(_message.fields["status"].validators[0].choices)
_CATEGORIES = frozenset(_message.fields["category"].validators[0].choices)
_PRICING = frozenset(_message.fields["pricing_type"].validators[0].choices)
_LONGEST_BODY = 10_000


def _text(value: Any, shortest: int, longest: int) -> bool:
    return type(value) is str and shortest <= len(value) <= longest


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0  # bool is not an int here, as for the schema


def _instant(schema: Any, name: str, value: Any) -> datetime | None:
    """The schema's own reading of a timestamp; raises ValidationError as it would.

    The field reads a string with `datetime.fromisoformat`, then refuses it naive or
    outside the window: a string that parses aware and inside the window is read here
    by the same call, in a tenth of the field's time; anything else goes to the field."""
    if type(value) is str:
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            instant = None
        if (instant is not None and instant.utcoffset() is not None
                and FIRST_DAY <= instant.date() <= LAST_DAY):  # fmt: skip
            return instant
    return schema.fields[name].deserialize(value)


def _common(record: dict, fields: frozenset[str]) -> tuple[str, str, str] | None:
    if type(record) is not dict or not record.keys() <= fields:
        return None
    source_id, tenant_id = record.get("source_id"), record.get("tenant_id")
    source_system = record.get("source_system", "platform")
    if not (_text(source_id, 1, 200) and _text(tenant_id, 1, 40)
            and _text(source_system, 1, 40)):  # fmt: skip
        return None
    return source_id, source_system, tenant_id


def fast_cdr(record: Any) -> dict | None:
    """What `CdrSchema().load(record)` returns, or None to let the schema decide."""
    ids = _common(record, _CDR_FIELDS)
    if ids is None:
        return None
    get = record.get
    callee, caller = get("callee"), get("caller", "")
    account, linked_id = get("account", ""), get("linked_id", "")
    service, disposition = get("service", "voice"), get("disposition")
    duration, billsec = get("duration_s"), get("billsec_s")
    if not (_text(callee, 1, 40) and _text(caller, 0, 40) and _text(account, 0, 80)
            and _text(linked_id, 0, 200) and type(service) is str and service in _SERVICES
            and type(disposition) is str and disposition in _DISPOSITION_SET
            and _count(duration) and _count(billsec) and billsec <= duration
            and "started_at" in record):  # fmt: skip
        return None
    try:
        started_at = _instant(_cdr, "started_at", record["started_at"])
        answered_at = _instant(_cdr, "answered_at", get("answered_at"))
        ended_at = _instant(_cdr, "ended_at", get("ended_at"))
    except ValidationError:
        return None
    if started_at is None:
        return None
    source_id, source_system, tenant_id = ids
    return {
        "source_id": source_id, "source_system": source_system, "tenant_id": tenant_id,
        "service": service, "caller": caller, "callee": callee, "started_at": started_at,
        "answered_at": answered_at, "ended_at": ended_at, "duration_s": duration,
        "billsec_s": billsec, "disposition": disposition, "account": account,
        "linked_id": linked_id,
    }  # fmt: skip


def fast_message(record: Any) -> dict | None:
    """What `MessageSchema().load(record)` returns, or None to let the schema decide."""
    ids = _common(record, _MESSAGE_FIELDS)
    if ids is None:
        return None
    get = record.get
    channel, sender, recipient = get("channel"), get("sender", ""), get("recipient")
    body, segments, status = get("body"), get("segments"), get("status")
    category, pricing_type = get("category", ""), get("pricing_type", "regular")
    if not (type(channel) is str and channel in _CHANNELS and _text(sender, 0, 40)
            and _text(recipient, 1, 40) and type(status) is str and status in _STATUSES
            and type(category) is str and category in _CATEGORIES
            and type(pricing_type) is str and pricing_type in _PRICING
            and (body is None or _text(body, 0, _LONGEST_BODY))
            and (segments is None or (_count(segments) and segments >= 1))
            and (channel != "sms" or body is not None or segments)
            and (channel != "whatsapp" or category)
            and "sent_at" in record):  # fmt: skip
        return None
    try:
        sent_at = _instant(_message, "sent_at", record["sent_at"])
    except ValidationError:
        return None
    if sent_at is None:
        return None
    source_id, source_system, tenant_id = ids
    return {
        "source_id": source_id, "source_system": source_system, "tenant_id": tenant_id,
        "channel": channel, "sender": sender, "recipient": recipient, "body": body,
        "segments": segments, "category": category, "pricing_type": pricing_type,
        "sent_at": sent_at, "status": status,
    }  # fmt: skip
