"""The batch body read, and the intake answer built, directly: the body as a list of Raw
items reads it, the answer as `IntakeResultSchema().dump` made it of the summary the
routes returned before (key for key, type for type)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from billing.usage.intake import Outcome
from billing.usage.schemas import BatchSchema, IntakeResultSchema, intake_result
from billing.usage.tally import Tally

_REASONS = st.one_of(
    st.none(), st.text(max_size=8),
    st.sampled_from(["malformed: callee: bad", "no_destination", "unknown_tenant",
                     "insufficient_balance", "out_of_range: x", "malformed"]),
)  # fmt: skip
_OUTCOMES = st.builds(
    Outcome,
    index=st.integers(0, 10_000),
    source_id=st.one_of(st.none(), st.text(max_size=12)),
    status=st.sampled_from(["accepted", "updated", "duplicate", "rejected"]),
    reason=_REASONS,
    usage_id=st.one_of(st.none(), st.integers(1, 2**62)),
    usage_status=st.one_of(
        st.none(), st.sampled_from(["billed", "accrued", "unbilled", "pending", "rejected"])
    ),
)
_TALLIED = ("accepted", "duplicates", "rejected", "rated", "pending", "updated", "malformed",
            "not_rateable")  # fmt: skip


def _by_schema(outcomes: list[Outcome]) -> dict:
    """What the routes answered before: the tally and the outcomes, dumped by the schema."""
    tally = Tally().add(outcomes)
    summary = {name: getattr(tally, name) for name in _TALLIED}
    return IntakeResultSchema().dump({**summary, "results": outcomes})


def _typed(value: object) -> object:
    """The value with every leaf's type beside it: 1 and True, or "1" and 1, differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(st.lists(_OUTCOMES, max_size=30))
def test_the_direct_answer_is_the_schemas_dump(outcomes: list[Outcome]) -> None:
    assert _typed(intake_result(outcomes)) == _typed(_by_schema(outcomes))


def test_a_batch_of_every_kind() -> None:
    outcomes = [
        Outcome(0, "a", "accepted", None, 7, "billed"),
        Outcome(1, "b", "duplicate"),
        Outcome(2, "c", "rejected", "malformed: callee: no dialable number", 8, "rejected"),
        Outcome(3, None, "rejected", "no_destination", 9, "rejected"),
        Outcome(4, "e", "updated", None, 10, "billed"),
        Outcome(5, "f", "accepted", "insufficient_balance", 11, "unbilled"),
        Outcome(6, "g", "accepted", None, 12, "pending"),
    ]
    answer = intake_result(outcomes)
    assert answer == _by_schema(outcomes)
    assert answer["results"][0] == {"index": 0, "source_id": "a", "status": "accepted",
        "reason": None, "usage_id": "7", "usage_status": "billed"}  # fmt: skip
    assert (answer["accepted"], answer["rejected"], answer["malformed"]) == (3, 2, 1)
    assert answer["not_rateable"] == {"no_destination": 1}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_JSON, max_size=12), _JSON))
def test_a_batch_body_is_read_as_a_list_of_raw_items_reads_it(records: object) -> None:
    """BatchSchema's records field against marshmallow's List(Raw(allow_none=True)) with
    the same validator: the same list, or the same errors."""
    plain = Schema.from_dict(
        {"records": fields.List(fields.Raw(allow_none=True), required=True,
                                validate=BatchSchema().fields["records"].validators[0])}
    )()  # fmt: skip

    def read(schema: Schema) -> object:
        try:
            return ("ok", schema.load({"records": records}))
        except ValidationError as error:
            return ("error", error.messages)

    assert read(BatchSchema()) == read(plain)
