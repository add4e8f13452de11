"""Grapheme clusters, close enough to Unicode UAX #29 for SMS part packing.

The standard library has no `\\X`, and the `regex` package is not a dependency. SMS
packing only needs to know which code points must travel in the same part, so this
covers the rules that matter for real messages: combining marks and spacing marks,
ZWJ emoji sequences, emoji modifiers and tags, regional-indicator flags, variation
selectors, Hangul syllables and the common prepend marks. Control characters always
stand alone, and so do CR and LF (Twilio splits CRLF into two graphemes).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

ZWJ = 0x200D
_EXTEND_CATEGORIES = frozenset({"Mn", "Me"})
_PREPEND = frozenset({0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x08E2})
_PICTOGRAPHIC_RANGES = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x21AA),
    (0x231A, 0x23FF),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3299),
    (0x1F000, 0x1F1E5),
    (0x1F200, 0x1F3FA),
    (0x1F400, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)


def _is_regional_indicator(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _is_pictographic(cp: int) -> bool:
    return any(low <= cp <= high for low, high in _PICTOGRAPHIC_RANGES)


def _is_extend(cp: int) -> bool:
    return (
        unicodedata.category(chr(cp)) in _EXTEND_CATEGORIES
        or cp == 0x200C
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
        or cp in (0xFF9E, 0xFF9F)
    )


def _is_control(cp: int) -> bool:
    return unicodedata.category(chr(cp)) in ("Cc", "Zl", "Zp") or (
        unicodedata.category(chr(cp)) == "Cf" and cp not in (0x200C, ZWJ) and cp < 0xE0020
    )


def _hangul_kind(cp: int) -> str:
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS = {
    "L": frozenset({"L", "V", "LV", "LVT"}),
    "LV": frozenset({"V", "T"}),
    "V": frozenset({"V", "T"}),
    "LVT": frozenset({"T"}),
    "T": frozenset({"T"}),
}


def _joins(prev: int, cp: int, emoji_zwj: bool, odd_ri: bool) -> bool:
    """Whether `cp` continues the cluster that ends with `prev` (no break between them)."""
    if _is_control(prev) or _is_control(cp):
        return False
    if _is_extend(cp) or cp == ZWJ or unicodedata.category(chr(cp)) == "Mc":
        return True
    if prev in _PREPEND:
        return True
    if prev == ZWJ and emoji_zwj and _is_pictographic(cp):
        return True
    if _is_regional_indicator(prev) and _is_regional_indicator(cp):
        return odd_ri
    return _hangul_kind(cp) in _HANGUL_JOINS.get(_hangul_kind(prev), ())


def graphemes(text: str) -> Iterator[str]:
    """Yield the grapheme clusters of `text` in order."""
    start = 0
    emoji_zwj = False  # inside "ExtPict Extend* ZWJ?" so a following pictograph joins
    run_ri = 0  # regional indicators in a row, to pair flags
    for index in range(1, len(text) + 1):
        prev = ord(text[index - 1])
        if _is_pictographic(prev):
            emoji_zwj = True
        elif not (_is_extend(prev) or prev == ZWJ):
            emoji_zwj = False
        run_ri = run_ri + 1 if _is_regional_indicator(prev) else 0
        if index < len(text) and _joins(prev, ord(text[index]), emoji_zwj, run_ri % 2 == 1):
            continue
        yield text[start:index]
        start = index
        run_ri = 0
