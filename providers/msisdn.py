"""Tanzanian mobile numbers: one canonical form, an operator guess, per-provider formats.

Canonical is `255` + 9 digits (E.164 without the plus). The operator suggested from the
prefix is only a default: numbers port between operators and brands merge (Tigo and
Zantel became Yas), so the payer's own choice of wallet wins (providers.md §6, §9.13).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import carrier

from providers.base import MsisdnFormat

_CANONICAL = re.compile(r"^255[67]\d{8}$")
_SEPARATORS = re.compile(r"[\s\-().]")

# providers.md §6, current libphonenumber carrier data; 77 (ex-Zantel Ezypesa) is Yas now.
PREFIX_OPERATORS: dict[str, str] = {
    "61": "halopesa",
    "62": "halopesa",
    "63": "halopesa",
    "65": "tigopesa",
    "67": "tigopesa",
    "70": "tigopesa",
    "71": "tigopesa",
    "77": "tigopesa",
    "66": "airtelmoney",
    "68": "airtelmoney",
    "69": "airtelmoney",
    "78": "airtelmoney",
    "72": "mpesa",
    "74": "mpesa",
    "75": "mpesa",
    "76": "mpesa",
    "79": "mpesa",
    "73": "tpesa",
}

# libphonenumber carrier names, current and older, to our provider codes.
CARRIER_OPERATORS: dict[str, str] = {
    "Viettel": "halopesa",
    "Halotel": "halopesa",
    "Yas": "tigopesa",
    "tiGO": "tigopesa",
    "Tigo": "tigopesa",
    "Zantel": "ezypesa",
    "Airtel": "airtelmoney",
    "Vodacom": "mpesa",
    "Tanzania Telecom": "tpesa",
    "TTCL": "tpesa",
}


def normalise(raw: str) -> str:
    """`0712 345 678`, `+255-712-345678`, `00255712345678`, `712345678` -> `255712345678`."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("phone number is empty")
    compact = _SEPARATORS.sub("", raw.strip())
    if compact.startswith("+"):
        compact = compact[1:]
    if not compact.isdigit():
        raise ValueError(f"{raw!r} is not a phone number: only digits, spaces and dashes")
    digits = _strip_prefixes(compact)
    if not _CANONICAL.match(digits):
        raise ValueError(
            f"{raw!r} is not a Tanzanian mobile number: expected 255 then 6 or 7 "
            "then 8 digits (e.g. 0712 345 678)"
        )
    parsed = phonenumbers.parse("+" + digits)
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{raw!r} is not in an allocated Tanzanian mobile range")
    return digits


def _strip_prefixes(digits: str) -> str:
    if digits.startswith("00255"):
        return digits[2:]
    if digits.startswith("0") and len(digits) == 10:
        return "255" + digits[1:]
    if len(digits) == 9 and digits[0] in "67":
        return "255" + digits
    return digits


def suggest_operator(msisdn: str) -> str | None:
    """A provider code guessed from the prefix, or None; a default, never a fact."""
    digits = normalise(msisdn)
    from_table = PREFIX_OPERATORS.get(digits[3:5])
    if from_table is not None:
        return from_table
    # A prefix the reference table lacks (e.g. 60): trust libphonenumber's carrier data.
    name = carrier.name_for_number(phonenumbers.parse("+" + digits), "en")
    return CARRIER_OPERATORS.get(name)


def carrier_agrees(msisdn: str) -> bool:
    """Whether libphonenumber's carrier data names the same operator as the table."""
    digits = normalise(msisdn)
    name = carrier.name_for_number(phonenumbers.parse("+" + digits), "en")
    return CARRIER_OPERATORS.get(name) == PREFIX_OPERATORS.get(digits[3:5])


def format_for(msisdn: str, msisdn_format: MsisdnFormat) -> str:
    """The number as a provider's API wants it (Airtel: 9 digits, no country code)."""
    digits = normalise(msisdn)
    if msisdn_format == MsisdnFormat.NATIONAL9:
        return digits[3:]
    return digits
