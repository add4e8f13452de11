"""TRA taxpayer numbers: the TIN (9 digits, shown 3-3-3) and the VRN (8 digits + letter).

No check-digit algorithm is published for either, so only the shape is checked.
Numbers are stored bare (digits, letter) and formatted for display.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-\u2013]")  # spaces, hyphens, en dashes
_TIN = re.compile(r"\d{9}")
_VRN = re.compile(r"\d{8}[A-Z]")
VRN_NOT_REGISTERED = "NOT REGISTERED"


def normalise_tin(raw: str) -> str:
    tin = _SEPARATORS.sub("", raw)
    if not _TIN.fullmatch(tin):
        raise ValueError("a TIN is 9 digits, e.g. 123-456-789")
    return tin


def format_tin(tin: str) -> str:
    return f"{tin[:3]}-{tin[3:6]}-{tin[6:]}"


def normalise_vrn(raw: str) -> str | None:
    """The bare VRN, or None for a taxpayer TRA reports as not VAT-registered."""
    if raw.strip().upper() == VRN_NOT_REGISTERED:
        return None
    vrn = _SEPARATORS.sub("", raw).upper()
    if not _VRN.fullmatch(vrn):
        raise ValueError("a VRN is 8 digits and a letter, e.g. 40-012345-K")
    return vrn


def format_vrn(vrn: str) -> str:
    return f"{vrn[:2]}-{vrn[2:8]}-{vrn[8]}"


def vrn_warning(raw: str) -> str | None:
    """Why a VRN looks odd, or None. A warning, not a rejection: the observed shape
    (8 digits + letter) is not a published rule, so an odd VRN may still be real."""
    try:
        normalise_vrn(raw)
    except ValueError as exc:
        return f"{raw.strip()!r} does not look like a VRN: {exc}"
    return None
