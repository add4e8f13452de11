"""Cheap dialled-number normalisation to E.164 digits (no '+'), for the import path.

Tanzanian dialling: trunk prefix 0, international prefix 000, and the East African
short forms 005 (Kenya) and 006 (Uganda) (reference/usage.md §5). Anything else is
kept as dialled digits and left to the destination table to accept or reject; full
validation with `phonenumbers` belongs off the hot path.
"""

from __future__ import annotations

import re

SHORT_INTERNATIONAL = {"005": "254", "006": "256"}
_NOT_DIGITS = re.compile(r"[^0-9]")  # ASCII digits only: other scripts' digits are not dialled


def to_e164(raw: str, country_code: str = "255") -> str:
    """`+255 712-345 678`, `0712345678`, `000 44 20…` -> digits; '' if nothing dialable."""
    text = raw.strip()
    plus = text.startswith("+")
    digits = _NOT_DIGITS.sub("", text)
    if plus or not digits:
        return digits
    if digits.startswith("000"):
        return digits[3:]
    if digits[:3] in SHORT_INTERNATIONAL:
        return SHORT_INTERNATIONAL[digits[:3]] + digits[3:]
    if digits.startswith("0"):
        return country_code + digits[1:]
    return digits
