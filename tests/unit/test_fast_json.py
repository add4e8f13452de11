"""billing.web.fast_json reads and writes JSON as the standard library path did.

Reading: any JSON text gives the value `webargs.core.parse_json` gives, type for type
(an integer past 64 bits stays an exact int: orjson made it a float, and this test
failed on it); what msgspec refuses falls back to the old path, value or error alike.
Writing: the same JSON value as Flask's provider, or Flask's own bytes when msgspec
cannot write the value.
"""

from __future__ import annotations

import json
import math

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from webargs import core

from billing.usage.intake import Outcome
from billing.usage.schemas import intake_result
from billing.web.fast_json import json_response, parse_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def same(a, b) -> bool:
    """Equal, and of the same type all the way down (1 and 1.0 differ here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def old(body: bytes):
    return core.parse_json(body)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_any_json_text_is_read_as_the_standard_library_reads_it(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert same(parse_json(body), old(body))


@pytest.mark.parametrize(
    "body",
    [
        b"123456789012345678901234567890",  # past 64 bits: exact, not a float
        b"18446744073709551616",
        b"-9223372036854775809",
        b'{"duration_s": 100000000000000000000000}',
        b"0.30000000000000004",
        b"5e-324",
        b"123456789012345678.5",
        b'{"a": 1, "a": 2}',  # the last of a repeated key, in the first's place
        b'{"b": 1, "a": 2, "b": 3}',
        b'"\\ud83d\\ude00"',
        '{"callee": "Tanzania ✓ 😀"}'.encode(),
        b'"\\u0000"',
        # msgspec refuses these, json reads them: the old path's value.
        b'"\\ud800"',
        b"NaN",
        b"1e400",
        b'{"body": "\\udfff"}',
    ],
)
def test_edge_cases_read_as_before(body):
    assert same(parse_json(body), old(body))


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"records": [1, 2,]}', b"\xef\xbb\xbf{}", b'{"a": "\xff"}', b"\x00{}"],
)
def test_what_the_old_path_refused_is_refused_with_its_error(body):
    with pytest.raises(json.JSONDecodeError) as old_error:
        old(body)
    with pytest.raises(json.JSONDecodeError) as new_error:
        parse_json(body)
    assert (new_error.value.msg, new_error.value.pos, new_error.value.doc) == (
        old_error.value.msg,
        old_error.value.pos,
        old_error.value.doc,
    )


def answer(*reasons: str | None) -> dict:
    outcomes = [
        Outcome(0, "a", "accepted", None, 7, "billed"),
        Outcome(1, "b", "duplicate"),
        *(Outcome(2 + n, f"r{n}", "rejected", reason, 9 + n, "rejected")
          for n, reason in enumerate(reasons)),
    ]  # fmt: skip
    return intake_result(outcomes)


@pytest.mark.parametrize(
    "reasons",
    [(), ("malformed: callee: no dialable number in 'é ✓ 😀 \u2028'",), ("unknown_tenant",)],
)
def test_an_answer_is_the_json_flask_wrote(reasons):
    app = Flask("t")
    value = answer(*reasons)
    with app.app_context():
        fast, flask = json_response(value), app.json.response(value)
    assert fast.mimetype == flask.mimetype == "application/json"
    assert json.loads(fast.get_data()) == json.loads(flask.get_data())
    assert fast.get_data().endswith(b"}\n")
    assert list(json.loads(fast.get_data())) == sorted(json.loads(fast.get_data()))


def test_an_answer_msgspec_cannot_write_is_flasks_own_bytes():
    app = Flask("t")
    value = answer("malformed: source_id: \ud800 lone")  # no UTF-8 form
    with app.app_context():
        assert json_response(value).get_data() == app.json.response(value).get_data()
