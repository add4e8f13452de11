"""What an operator may paste as TRA's verification code when confirming a receipt."""

from __future__ import annotations

import pytest

from billing.core.errors import InvalidInput
from billing.invoicing.confirmation import read_verification


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("A1B2C3123", ("A1B2C3123", None)),
        (" a1b2c3123 ", ("A1B2C3123", None)),
        ("A1B2C3123_101530", ("A1B2C3123", "101530")),
        ("https://verify.tra.go.tz/A1B2C3123_101530", ("A1B2C3123", "101530")),
        ("https://virtual.tra.go.tz/efdmsRctVerify/A1B2C3123_101530/", ("A1B2C3123", "101530")),
    ],
)
def test_a_code_a_code_with_its_time_or_tras_link(given, read):
    assert read_verification(given) == read


@pytest.mark.parametrize(
    "given",
    [
        "",
        "A1B2C3123_1015",  # not HHMMSS
        "A1B2-C3123",
        "http://verify.tra.go.tz/A1B2C3123_101530",  # not https
        "https://verify.tra.go.tz.evil.example/A1B2C3123_101530",
        "https://[verify.tra.go.tz/A1B2C3123",  # malformed
    ],
)
def test_anything_else_is_refused_on_the_field(given):
    with pytest.raises(InvalidInput) as refused:
        read_verification(given)
    assert list(refused.value.errors) == ["verification_code"]
