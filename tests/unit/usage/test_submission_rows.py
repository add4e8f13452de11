"""A platform record's row, built directly, is the row `intake.event_row` made of the
`UsageEvent` the submissions built before: the same dict, or the same error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.rating import message_status
from billing.rating.plans import Service
from billing.rating.segments import count_segments
from billing.usage.events import Disposition, UsageEvent
from billing.usage.intake_rows import event_row
from billing.usage.submissions import _cdr_event, _message_event, _number

_AT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=3))]),
)  # fmt: skip
_NUMBERS = st.one_of(
    st.sampled_from(["0712345678", "+255712345678", "000441234567", "0051234", "abc", "",
                     "255 712 345 678", "0" * 45, " 0712-345-678 "]),
    st.text(max_size=45),
)  # fmt: skip
_TEXT = st.one_of(st.text(max_size=5), st.text(min_size=78, max_size=210))


def _old_cdr(data: dict) -> dict:
    """`submissions._cdr_event` as it was: a UsageEvent, then `event_row`."""
    disposition = Disposition(data["disposition"].replace(" ", "_"))
    event = UsageEvent(
        source_system=data["source_system"], source_id=data["source_id"],
        service=Service(data["service"]), from_number=data["caller"],
        to_number=_number(data["callee"], "callee"), started_at=data["started_at"],
        answered_at=data["answered_at"], ended_at=data["ended_at"],
        duration_s=data["duration_s"], billable_s=data["billsec_s"],
        disposition=disposition, account=data["account"], linked_id=data["linked_id"],
    )  # fmt: skip
    return event_row(event, data["tenant_id"])


def _old_message(data: dict) -> dict:
    """`submissions._message_event` as it was."""
    channel = Service(data["channel"])
    status = data["status"]
    if channel is Service.SMS:
        units = data["segments"] or count_segments(data["body"]).segments
    else:
        units = 1
    event = UsageEvent(
        source_system=data["source_system"], source_id=data["source_id"], service=channel,
        from_number=data["sender"], to_number=_number(data["recipient"], "recipient"),
        started_at=data["sent_at"], answered_at=None, ended_at=None, duration_s=0,
        billable_s=0,
        disposition=Disposition(message_status.disposition(channel.value, frozenset({status}))),
        units=units, category=data["category"], pricing_type=data["pricing_type"],
    )  # fmt: skip
    return event_row(event, data["tenant_id"], delivery_status=status)


def _outcome(build, data: dict) -> object:
    try:
        return ("row", {name: (type(value), value) for name, value in build(data).items()})
    except Exception as error:
        return ("error", type(error), str(error))


_CDRS = st.fixed_dictionaries({
    "source_system": st.sampled_from(["platform", "pbx"]), "source_id": _TEXT,
    "tenant_id": st.sampled_from(["", "ten_1", "t" * 40]),
    "service": st.sampled_from(["voice", "ai_agent_minutes", "recording_minutes", "sms", "x"]),
    "caller": _NUMBERS, "callee": _NUMBERS, "started_at": _AT,
    "answered_at": st.one_of(st.none(), _AT), "ended_at": st.one_of(st.none(), _AT),
    "duration_s": st.integers(0, 10**6), "billsec_s": st.integers(0, 10**6),
    "disposition": st.sampled_from(["ANSWERED", "NO ANSWER", "NO_ANSWER", "BUSY", "FAILED",
                                    "CONGESTION", "CANCEL", "answered", "WHAT"]),
    "account": _TEXT, "linked_id": _TEXT,
})  # fmt: skip
_MESSAGES = st.fixed_dictionaries({
    "source_system": st.sampled_from(["platform", "pbx"]), "source_id": _TEXT,
    "tenant_id": st.sampled_from(["", "ten_1"]),
    "channel": st.sampled_from(["sms", "whatsapp", "voice", "email"]),
    "sender": _NUMBERS, "recipient": _NUMBERS, "sent_at": _AT,
    "body": st.one_of(st.text(max_size=400), st.sampled_from(["\ud800 lone", "Habari {}"])),
    "segments": st.one_of(st.none(), st.integers(1, 9)),
    "status": st.sampled_from([*sorted(message_status.STATUSES), "lost"]),
    "category": st.sampled_from(["", "marketing", "utility"]),
    "pricing_type": st.sampled_from(["regular", "free_entry_point"]),
})  # fmt: skip


@settings(max_examples=800, deadline=None)
@given(_CDRS)
def test_a_cdr_row_is_the_events_row(data: dict) -> None:
    assert _outcome(_cdr_event, data) == _outcome(_old_cdr, data)


@settings(max_examples=800, deadline=None)
@given(_MESSAGES)
def test_a_message_row_is_the_events_row(data: dict) -> None:
    assert _outcome(_message_event, data) == _outcome(_old_message, data)
