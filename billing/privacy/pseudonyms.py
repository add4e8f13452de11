"""Keyed hashes that stand in for erased personal data (pure).

HMAC-SHA256 under a key from the environment (MALIPO_PSEUDONYM_KEY): the same number
becomes the same pseudonym, so records stay linkable to each other (a dispute, a
statement), while without the key nobody can hash every phone number to reverse one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

PREFIX = "pz_"


def pseudonym(key: str, value: str, length: int = 20) -> str:
    digest = hmac.new(key.encode(), value.strip().encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[: max(length - len(PREFIX), 8)]


def variants(msisdn: str) -> set[str]:
    """The ways a Tanzanian number is written in records and callbacks: 2557…, +2557…, 07…."""
    digits = msisdn.strip().lstrip("+")
    found = {msisdn.strip(), digits}
    if digits.startswith("255") and len(digits) == 12:
        found |= {"+" + digits, "0" + digits[3:]}
    return {value for value in found if len(value) >= 6}


def replace_all(text: str, replacements: Mapping[str, str]) -> str:
    """Each personal value in `text` replaced by its pseudonym, longest first (so a number's
    +255 form is replaced whole, not by its shorter 255 form's pseudonym inside it)."""
    for value in sorted(replacements, key=len, reverse=True):
        if value in text:
            text = text.replace(value, replacements[value])
    return text


def scrub_json(value: Any, replacements: Mapping[str, str]) -> Any:
    """A JSON value with the personal values inside its strings (and keys, and numbers
    written as numbers) replaced."""
    if isinstance(value, str):
        return replace_all(value, replacements)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return replacements.get(str(value), value)
    if isinstance(value, Mapping):
        return {replace_all(str(k), replacements): scrub_json(v, replacements)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list | tuple):
        return [scrub_json(item, replacements) for item in value]
    return value
