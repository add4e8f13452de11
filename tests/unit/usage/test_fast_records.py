"""The fast reading of platform records agrees with the schemas: for any record, it either
returns exactly what the schema loads, or None (and the schema decides, with its message)."""

from __future__ import annotations

import copy
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from billing.usage.fast_records import _instant, fast_cdr, fast_message
from billing.usage.schemas import CdrSchema, MessageSchema
from billing.web.fields import Instant

CDR, MESSAGE = CdrSchema(), MessageSchema()
_INSTANT_TEXTS = [
    "2026-03-02T09:00:00+03:00", "2026-03-02T06:00:00Z", "2026-03-02T09:00:00",
    "2026-03-02 09:00:00+03:00", "1999-12-31T23:00:00+00:00", "2101-01-01T00:00:00Z",
    "not a time", "", "2026-02-30T00:00:00Z", "2026-03-02T09:00:00.123456+03:00",
    "2026-03-02T09:00:00+0300", "2026-03-02T09:00+03:00", "20260302T090000Z",
    "2026-03-02T09:00:00-00:00", "2000-01-01T00:00:00+14:00", "2100-12-31T23:59:59-12:00",
    "2101-01-01T00:00:00+03:00", "1999-12-31T23:59:59Z", "2026-03-02T09:00:00.5Z",
    "2026-W10-1T09:00Z", "2026-03-02", "2026-03-02T09:00:00+03:00:30", " 2026-03-02T09:00Z",
    "2026-03-02T24:00:00Z", "2026-03-02T09:00:00+25:00", "2026-03-02t09:00:00Z",
]  # fmt: skip
_INSTANTS = st.sampled_from(_INSTANT_TEXTS)
_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
    st.text(max_size=5), st.lists(st.integers(), max_size=2), _INSTANTS,
)  # fmt: skip


def _texts(longest: int) -> st.SearchStrategy:
    return st.one_of(st.text(max_size=3), st.text(min_size=longest - 1, max_size=longest + 1))


def _good_cdr() -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"source_id": _texts(200), "tenant_id": _texts(40), "callee": _texts(40),
         "started_at": _INSTANTS, "duration_s": st.integers(-1, 900),
         "billsec_s": st.integers(-1, 900),
         "disposition": st.sampled_from(["ANSWERED", "NO ANSWER", "NO_ANSWER", "BUSY",
                                         "FAILED", "answered", "CONGESTION"])},
        optional={"source_system": _texts(40), "service": st.sampled_from(
            ["voice", "ai_agent_minutes", "recording_minutes", "sms", "VOICE"]),
            "caller": _texts(40), "answered_at": st.one_of(st.none(), _INSTANTS),
            "ended_at": st.one_of(st.none(), _INSTANTS), "account": _texts(80),
            "linked_id": _texts(200)},
    )  # fmt: skip


def _good_message() -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"source_id": _texts(200), "tenant_id": _texts(40), "recipient": _texts(40),
         "channel": st.sampled_from(["sms", "whatsapp", "SMS", "email"]),
         "sent_at": _INSTANTS,
         "status": st.sampled_from(["delivered", "read", "failed", "queued", "lost"])},
        optional={"source_system": _texts(40), "sender": _texts(40),
                  "body": st.one_of(st.none(), st.text(max_size=200)),
                  "segments": st.one_of(st.none(), st.integers(-1, 5), st.booleans()),
                  "category": st.sampled_from(["", "marketing", "utility", "other"]),
                  "pricing_type": st.sampled_from(["regular", "free_entry_point", "x"])},
    )  # fmt: skip


def _mutated(base: st.SearchStrategy) -> st.SearchStrategy:
    """A record, sometimes with one field replaced by anything, dropped, or one added."""

    def mutate(record: dict, data) -> dict:
        record = copy.deepcopy(record)
        how = data.draw(st.sampled_from(["none", "replace", "drop", "add"]))
        if how == "replace" and record:
            record[data.draw(st.sampled_from(sorted(record)))] = data.draw(_ANY)
        elif how == "drop" and record:
            del record[data.draw(st.sampled_from(sorted(record)))]
        elif how == "add":
            record[data.draw(st.sampled_from(["extra", "units", "Callee"]))] = data.draw(_ANY)
        return record

    return st.tuples(base, st.data()).map(lambda pair: mutate(*pair))


def _agree(fast, schema, record) -> None:
    got = fast(record)
    try:
        expected = schema.load(record)
    except ValidationError:
        assert got is None, (record, got)
        return
    assert got is None or _exactly(got) == _exactly(expected), (record, got, expected)


def _exactly(data: dict) -> dict:
    """Each value with its type and repr: equal datetimes in other offsets differ here."""
    return {name: (type(value), repr(value)) for name, value in data.items()}


def test_an_instant_is_read_as_the_field_reads_it():
    """`_instant`'s shortcut (fromisoformat, aware, in the window) against the field."""
    values = [*_INSTANT_TEXTS, None, 0, 1.5, True, [], {}, "Z", "T", "2026-03-02T09:00:00"]
    for name, schema in (("started_at", CDR), ("answered_at", CDR), ("sent_at", MESSAGE)):
        for value in values:
            try:
                expected = (type(v := schema.fields[name].deserialize(value)), repr(v))
            except ValidationError as error:
                expected = error.messages
            try:
                got = (type(v := _instant(schema, name, value)), repr(v))
            except ValidationError as error:
                got = error.messages
            assert got == expected, (name, value)


def test_the_fields_read_instants_with_fromisoformat():
    """What `_instant` relies on: the timestamp fields parse ISO 8601 with fromisoformat."""
    for name, field in [*CDR.fields.items(), *MESSAGE.fields.items()]:
        if isinstance(field, Instant):
            assert field.format == "iso", name
            assert field.DESERIALIZATION_FUNCS["iso"] == datetime.fromisoformat


@settings(max_examples=600, deadline=None)
@given(_mutated(_good_cdr()))
def test_a_cdr_is_read_as_the_schema_reads_it(record):
    _agree(fast_cdr, CDR, record)


@settings(max_examples=600, deadline=None)
@given(_mutated(_good_message()))
def test_a_message_is_read_as_the_schema_reads_it(record):
    _agree(fast_message, MESSAGE, record)


def test_the_common_records_take_the_fast_path():
    cdr = {"source_id": "a1", "tenant_id": "ten_1", "callee": "0712345678",
           "started_at": "2026-03-02T09:00:00+03:00", "answered_at": "2026-03-02T09:00:05+03:00",
           "duration_s": 70, "billsec_s": 65, "disposition": "ANSWERED"}  # fmt: skip
    sms = {"source_id": "m1", "tenant_id": "ten_1", "channel": "sms", "recipient": "0712345678",
           "body": "Habari", "sent_at": "2026-03-02T09:00:00+03:00",
           "status": "delivered"}  # fmt: skip
    assert fast_cdr(cdr) == CDR.load(cdr)
    assert fast_message(sms) == MESSAGE.load(sms)
    assert fast_cdr({**cdr, "duration_s": True}) is None  # a bool is not a count
    assert fast_cdr({**cdr, "billsec_s": 71}) is None  # over the duration: the schema says so
