"""Log lines: JSON, with the request id, and never a whole phone number."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from billing.core.context import accept_request_id, bind_request_id, unbind_request_id
from billing.core.logs import JsonFormatter, TextFormatter
from billing.core.masking import mask as mask_phones
from billing.core.masking import mask_phone


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("255712345612", "2557******12"),
        ("payer +255712345612 paid", "payer +2557******12 paid"),
        ("msisdn=0712345678,", "msisdn=0712****78,"),
        ("to 255654000111 and 255754000222", "to 2556******11 and 2557******22"),
        ("+14155550123 abroad", "+1415*****23 abroad"),
    ],
)
def test_phone_numbers_keep_four_digits_and_the_last_two(text, masked):
    assert mask_phones(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "amount 500000 TZS",
        "usage ids 1000000..1009999",
        "top_01JX255712345612",  # inside an id: not a number on its own
        "2557123456123",  # 13 digits: not an MSISDN
        "ledger tx 18446744073709",
    ],
)
def test_other_numbers_are_left_alone(text):
    assert mask_phones(text) == text


def test_mask_phone_is_the_documented_shape():
    assert mask_phone("255712345612") == "2557******12"


def _record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad payer 255712345612")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("billing.topups", logging.INFO, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_a_json_line_carries_the_request_id_and_masks_everywhere():
    token = bind_request_id("req-abcdef123")
    try:
        line = JsonFormatter().format(
            _record("push to %s failed", "255712345612", exc=True, payer="0712345678", attempt=2)
        )
    finally:
        unbind_request_id(token)
    parsed = json.loads(line)
    assert parsed["message"] == "push to 2557******12 failed"
    assert parsed["request_id"] == "req-abcdef123"
    assert parsed["logger"] == "billing.topups" and parsed["level"] == "INFO"
    assert parsed["payer"] == "0712****78" and parsed["attempt"] == 2
    assert "2557******12" in parsed["exc"] and "255712345612" not in line


def test_outside_a_request_there_is_no_request_id():
    assert "request_id" not in json.loads(JsonFormatter().format(_record("tick")))


def test_the_text_format_is_masked_too():
    assert "255712345612" not in TextFormatter().format(_record("payer %s", "255712345612"))


def test_only_a_short_plain_request_id_is_accepted():
    assert accept_request_id("lb-0123456789") == "lb-0123456789"
    for offered in (None, "", "short", "x" * 65, "bad id\nlevel=ERROR", "é" * 10):
        assert accept_request_id(offered) != offered
