"""The direct reading of an authorisation body agrees with the schema: for any body, it
either returns exactly what marshmallow loads, or None (and the schema decides, with its
message). The common bodies take the direct reading. An answer is written exactly as
the schema dumps it."""

from __future__ import annotations

import json
from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from billing.core.money import Currency
from billing.rating.allowance import MAX_MESSAGES, MAX_SESSION_S
from billing.rating.plans import Service
from billing.tariffs.authorisation import Authorisation
from billing.tariffs.schemas import AuthorizationSchema, AuthorizeSchema, read_authorize

SCHEMA = AuthorizeSchema()
_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
    st.text(max_size=5), st.lists(st.integers(), max_size=2), st.just({}),
)  # fmt: skip
_INTS = st.one_of(
    st.integers(-2, 3), st.sampled_from([254, 255, 256, MAX_SESSION_S, MAX_SESSION_S + 1,
    MAX_MESSAGES, MAX_MESSAGES + 1, 2**63]), st.booleans(), st.floats(0, 300), _ANY,
)  # fmt: skip


def _texts(longest: int) -> st.SearchStrategy:
    return st.one_of(
        st.text(max_size=3),
        st.text(min_size=longest - 1, max_size=longest + 1),
        st.sampled_from(["", "marketing", "utility", "a-b.c_d", "-x", "x\n", "x y", "é"]),
        _ANY,
    )


FIELDS = {
    "tenant_id": _texts(40),
    "service": st.one_of(st.sampled_from(["voice", "sms", "whatsapp", "VOICE", "fax"]), _ANY),
    "destination": _texts(40),
    "segments": _INTS,
    "category": st.one_of(_texts(60), st.text(alphabet="ab.-_1", max_size=62)),
    "reserve": st.one_of(st.booleans(), _ANY),
    "session_id": _texts(200),
    "seconds": _INTS,
    "messages": _INTS,
    "other": _ANY,
}


def _marshmallow(body: object) -> dict:
    """The schema's own load, without its direct reading."""
    return Schema.load(SCHEMA, body)


def _loaded(body: object) -> dict | None:
    try:
        return _marshmallow(body)
    except ValidationError:
        return None


VALID = st.fixed_dictionaries(
    {
        "tenant_id": st.text(min_size=1, max_size=40),
        "service": st.sampled_from(["voice", "sms", "whatsapp"]),
        "destination": st.text(min_size=1, max_size=40),
    },
    optional={
        "segments": st.integers(1, 255),
        "category": st.sampled_from(["marketing", "utility", "authentication"]),
        "reserve": st.booleans(),
        "session_id": st.one_of(st.none(), st.text(min_size=1, max_size=200)),
        "seconds": st.one_of(st.none(), st.integers(1, MAX_SESSION_S)),
        "messages": st.integers(1, MAX_MESSAGES),
    },
)


def _agrees(body: object) -> None:
    read = read_authorize(body)
    if read is not None:
        loaded = _loaded(body)
        assert read == loaded
        assert [type(v) for v in read.values()] == [type(loaded[k]) for k in read]


@settings(max_examples=1000, deadline=None)
@given(st.fixed_dictionaries({}, optional=FIELDS))
def test_the_direct_reading_is_the_schemas_or_nothing(body):
    _agrees(body)


@settings(max_examples=2000, deadline=None)
@given(VALID, st.sampled_from(sorted(FIELDS)), st.data())
def test_a_valid_body_with_one_field_changed_or_dropped(body, name, data):
    """One field off a valid body (another value, or gone): the schema's answer or None."""
    if data.draw(st.booleans()):
        body.pop(name, None)
    else:
        body[name] = data.draw(FIELDS[name])
    _agrees(body)


@settings(max_examples=300, deadline=None)
@given(VALID)
def test_a_valid_body_is_read_directly(body):
    assert read_authorize(body) == _marshmallow(body) == SCHEMA.load(body)


EDGES = [
    None, True, False, 0, 1, 2, 254, 255, 256, MAX_SESSION_S, MAX_SESSION_S + 1, MAX_MESSAGES,
    MAX_MESSAGES + 1, -1, 1.0, 2**63, "", "x", "x" * 40, "x" * 41, "x" * 60, "x" * 61, "x" * 200,
    "x" * 201, "voice", "sms", "whatsapp", "-x", "x\n", "x y", [], {}, "1",
]  # fmt: skip


def test_each_field_at_its_edges():
    good = {"tenant_id": "ten_1", "service": "voice", "destination": "0754000111"}
    for name in FIELDS:
        for value in EDGES:
            _agrees(good | {name: value})


def test_what_the_schema_refuses_is_left_to_it():
    good = {"tenant_id": "ten_1", "service": "voice", "destination": "0754000111"}
    assert read_authorize(good) is not None
    for bad in (
        [good], "x", good | {"unknown": 1}, good | {"segments": True}, good | {"seconds": 1.0},
        good | {"reserve": 1}, good | {"category": None}, good | {"tenant_id": ""},
        good | {"service": "fax"}, good | {"messages": 0}, good | {"category": "-x"},
    ):  # fmt: skip
        assert read_authorize(bad) is None


ANSWER = AuthorizationSchema()
_MAYBE_INT = st.one_of(st.none(), st.integers(-(2**63), 2**63))


@settings(max_examples=500, deadline=None)
@given(
    st.builds(
        Authorisation,
        tenant_id=st.text(max_size=40),
        service=st.sampled_from(Service),
        destination=st.text(max_size=40),
        currency=st.sampled_from(Currency),
        available_minor=_MAYBE_INT,
        allowed=st.booleans(),
        reason=st.sampled_from(["", "insufficient_balance", "no_rate_plan"]),
        max_seconds=_MAYBE_INT,
        max_messages=_MAYBE_INT,
        rate=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), _ANY, max_size=4)),
        reservation_id=_MAYBE_INT,
        reserved_minor=_MAYBE_INT,
        expires_at=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    )
)
def test_an_answer_is_written_as_the_schema_dumps_it(answer):
    dumped = Schema.dump(ANSWER, answer)
    written = ANSWER.dump(answer)
    assert written == dumped
    assert json.dumps(written, sort_keys=True) == json.dumps(dumped, sort_keys=True)
