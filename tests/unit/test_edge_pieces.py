"""Small pure pieces of the edge: keys, phone numbers, ids, cursors, error flattening."""

import pytest

from billing.auth import keys
from billing.core.errors import InvalidInput
from billing.core.ids import new_id
from billing.core.phone import normalise_msisdn
from billing.web.pagination import decode_cursor, encode_cursor
from billing.web.problems import flatten_field_errors


def test_a_key_round_trips_and_only_its_secret_matches():
    material = keys.generate()
    parsed = keys.parse(material.token)
    assert parsed == material
    assert keys.matches(material.secret, material.secret_sha256)
    assert not keys.matches(material.secret + "x", material.secret_sha256)
    assert material.secret not in material.secret_sha256


@pytest.mark.parametrize(
    "token", ["", "mlp_short_x", "sk_live_abc", "mlp_" + "a" * 12 + "_" + "b" * 10]
)
def test_malformed_tokens_do_not_parse(token):
    assert keys.parse(token) is None


@pytest.mark.parametrize(
    "raw", ["0712345678", "+255712345678", "255 712 345 678", "0712-345-678", "+255-712-345678"]
)
def test_tanzanian_mobiles_normalise_to_msisdn(raw):
    assert normalise_msisdn(raw) == "255712345678"


def test_foreign_mobiles_keep_their_country_and_landlines_are_refused():
    assert normalise_msisdn("+254 712 345678") == "254712345678"
    with pytest.raises(ValueError, match="not a mobile"):
        normalise_msisdn("022 212 3456")
    with pytest.raises(ValueError):
        normalise_msisdn("hello")


def test_ids_carry_their_type_sort_by_time_and_do_not_repeat():
    ids = [new_id("ten") for _ in range(1_000)]
    assert all(i.startswith("ten_") and len(i) == 30 for i in ids)
    assert len(set(ids)) == 1_000
    assert ids[0][:14] <= ids[-1][:14]


def test_cursors_round_trip_and_foreign_ones_are_invalid_input():
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) is None
    for bad in ("!!", "djI6NQ", encode_cursor(1)[:-1] + "*"):
        with pytest.raises(InvalidInput) as refused:
            decode_cursor(bad)
        assert refused.value.errors == {"cursor": ["not a cursor this API gave out"]}


def test_webargs_errors_flatten_to_field_names():
    nested = {
        "json": {"amount": ["too small"], "payer": {"msisdn": ["bad"]}},
        "query": {"limit": ["too big"]},
    }
    assert flatten_field_errors(nested) == {
        "amount": ["too small"],
        "payer.msisdn": ["bad"],
        "limit": ["too big"],
    }
