"""Records priced alike share their rated fields (row_prices._rated_alike): each gets
exactly what `_rated` builds, its own copy, and the breakdown's JSON is what the store
wrote before (json_cells.breakdown_json over a plain dict)."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.core.money import Currency
from billing.rating.plans import Service
from billing.rating.records import Piece, RatedUsage
from billing.usage import row_prices
from billing.usage.json_cells import EncodedBreakdown, breakdown_json, encode
from billing.usage.row_prices import _rated, _rated_alike

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_pieces = st.lists(
    st.builds(Piece, *(st.integers(0, 600) for _ in range(5)), st.integers(0, 10**9)),
    max_size=3,
).map(tuple)
_results = st.builds(
    RatedUsage,
    source_id=st.text(max_size=5),
    service=st.sampled_from([Service.VOICE, Service.SMS, Service.WHATSAPP]),
    zone=st.sampled_from(["tz-mobile", "tz-fixed", "ke"]),
    band=st.sampled_from(["peak", "offpeak", ""]),
    currency=st.sampled_from([Currency.TZS, Currency.USD]),
    amount_minor=st.integers(0, 10**6),
    raw_numerator=st.integers(0, 10**12),
    raw_denominator=st.sampled_from([1, 10**6, 3 * 10**6]),
    billed_units=st.integers(0, 600),
    bundle_units=st.just(0),
    pieces=_pieces,
    rate_unit_s=st.sampled_from([1, 60]),
    note=st.sampled_from(["", "minimum_charge", "unanswered"]),
    bundle_draws=st.just(()),
    fx_rate=st.none(),
)
_tariffs = st.builds(
    SimpleNamespace, plan_id=st.sampled_from(["plan_a", "plan_b"]), plan_version=st.integers(1, 3)
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_results, _tariffs, st.integers(0, 2)), min_size=1, max_size=40))
def test_records_priced_alike_get_what_rated_builds_each_their_own(priced) -> None:
    row_prices._ALIKE.clear()
    got = []
    for result, tariff, minutes in priced:
        now = NOW + timedelta(minutes=minutes)
        fields = _rated_alike(result, tariff, now)
        want = _rated(result, tariff, None, now, [])
        assert fields == want
        types = [type(v) for k, v in fields.items() if k != "breakdown"]
        assert types == [type(v) for k, v in want.items() if k != "breakdown"]
        assert isinstance(fields["breakdown"], dict)
        assert breakdown_json(fields["breakdown"]) == encode(want["breakdown"])
        got.append((fields, want))
    for fields, _want in got:  # what the settling does to a row's fields: its own
        fields["status"], fields["vat_minor"], fields["ledger_entry_id"] = "billed", 1, 7
    for fields, want in got:
        assert {**fields, "status": None, "vat_minor": None, "ledger_entry_id": None} == want


def test_another_plan_version_or_moment_is_not_taken_for_the_same() -> None:
    row_prices._ALIKE.clear()
    result = RatedUsage("1", Service.VOICE, "tz-mobile", "peak", Currency.TZS, 100, 10**8, 10**6,
                        60, 0, (Piece(0, 60, 1, 60, 60, 10**5),), (), 60)  # fmt: skip
    first = _rated_alike(result, SimpleNamespace(plan_id="p", plan_version=1), NOW)
    later = NOW + timedelta(seconds=1)
    second = _rated_alike(result, SimpleNamespace(plan_id="p", plan_version=2), later)
    assert (first["plan_version"], second["plan_version"]) == (1, 2)
    assert second["rated_at"] == later


def test_a_shared_breakdown_cannot_be_changed_and_its_copies_are_plain_dicts() -> None:
    shared = EncodedBreakdown({"rule": "per_second", "steps": [1, 2]})
    with pytest.raises(TypeError):
        shared["rule"] = "per_minute"
    with pytest.raises(TypeError):
        shared.update(rule="per_minute")
    for twin in (copy.copy(shared), copy.deepcopy(shared), pickle.loads(pickle.dumps(shared))):
        assert type(twin) is dict and twin == shared
        twin["rule"] = "changed"  # its own: the shared one is untouched
    assert shared["rule"] == "per_second"
