"""MSISDN normalisation, operator suggestion and per-provider formats."""

from __future__ import annotations

import pytest

from providers.base import MsisdnFormat
from providers.msisdn import (
    PREFIX_OPERATORS,
    carrier_agrees,
    format_for,
    normalise,
    suggest_operator,
)


@pytest.mark.parametrize(
    "raw",
    [
        "0712345678",
        "0712 345 678",
        "0712-345-678",
        "+255712345678",
        "+255 712 345 678",
        "+255-712-345678",
        "255712345678",
        "00255712345678",
        "00 255 712 345 678",
        "712345678",
        " 0712345678 ",
        "(0712) 345.678",
    ],
)
def test_accepted_spellings_normalise_to_255_and_nine_digits(raw):
    assert normalise(raw) == "255712345678"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("07123abc78", "only digits"),
        ("+254712345678", "not a Tanzanian mobile"),  # Kenya
        ("0222123456", "not a Tanzanian mobile"),  # Dar es Salaam landline
        ("071234567", "not a Tanzanian mobile"),  # too short
        ("07123456789", "not a Tanzanian mobile"),  # too long
        ("2557123456789", "not a Tanzanian mobile"),
        ("0812345678", "not a Tanzanian mobile"),
        ("0642345678", "allocated"),  # 64 is not a mobile range
        ("255", "not a Tanzanian mobile"),
    ],
)
def test_rejections_say_why(raw, message):
    with pytest.raises(ValueError, match=message):
        normalise(raw)


@pytest.mark.parametrize(("prefix", "operator"), sorted(PREFIX_OPERATORS.items()))
def test_every_prefix_in_the_table_suggests_its_operator(prefix, operator):
    assert suggest_operator(f"0{prefix}1234567") == operator


@pytest.mark.parametrize("prefix", sorted(PREFIX_OPERATORS))
def test_phonenumbers_carrier_data_agrees_with_the_table(prefix):
    assert carrier_agrees(f"255{prefix}1234567")


def test_prefix_missing_from_the_table_falls_back_to_carrier_data():
    assert suggest_operator("0601234567") == "airtelmoney"  # libphonenumber: Airtel


def test_77_routes_to_yas_tigo_not_zantel():
    assert suggest_operator("0771234567") == "tigopesa"


def test_provider_formats():
    assert format_for("0712345678", MsisdnFormat.E164_NO_PLUS) == "255712345678"
    assert format_for("+255 687 123 456", MsisdnFormat.NATIONAL9) == "687123456"
