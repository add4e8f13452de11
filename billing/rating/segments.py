"""SMS segment counting, as Twilio's message-segment-calculator does it.

A message is GSM-7 if every character is in the GSM 03.38 default alphabet or its
extension table (an extension character costs two septets: ESC + char); otherwise the
whole message is UCS-2, counted in UTF-16 code units. Up to 140 octets travel in one
part (160 septets or 70 units). Longer messages carry a user-data header in every part
(6 octets by default, leaving 153 septets or 67 units) and are packed greedily without
splitting a grapheme: an ESC pair, a surrogate pair or a ZWJ emoji never straddles two
parts, so a part may hold fewer units than the limit. See reference/usage.md section 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from billing.rating.graphemes import graphemes

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION
_SINGLE_PART_BITS = 140 * 8
_BASIC_ONLY = frozenset(GSM7_BASIC).issuperset


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """How a message is billed: its encoding, size in units, and parts sent."""

    encoding: SmsEncoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def part_capacity(encoding: SmsEncoding, udh_octets: int = 6) -> int:
    """Units one part of a multipart message holds: 153/67, or 152/66 with a 7-octet UDH."""
    bits = _SINGLE_PART_BITS - 8 * udh_octets
    return bits // 7 if encoding is SmsEncoding.GSM7 else bits // 16


def single_part_capacity(encoding: SmsEncoding) -> int:
    return 160 if encoding is SmsEncoding.GSM7 else 70


def count_segments(text: str, udh_octets: int = 6) -> SegmentCount:
    """Encoding, units and billable segments of `text`; the empty message is one segment."""
    if set(text) <= _GSM7:
        units = len(text) + _extension_chars(text)  # an extension character: 2 septets
        if units <= 160:  # one part: no packing to work out
            return SegmentCount(SmsEncoding.GSM7, units, 1)
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
        encoding = SmsEncoding.GSM7
    else:
        encoding = SmsEncoding.UCS2
        units = _utf16_units(text)  # what the clusters' sizes add up to
        if units <= 70:  # one part: no clusters to find
            return SegmentCount(encoding, units, 1)
        sizes = _utf16_sizes(graphemes(text), astral=units > len(text))
    return SegmentCount(encoding, units, _pack(sizes, part_capacity(encoding, udh_octets)))


_LAST_BMP = "\uffff"


def _utf16_sizes(clusters: Iterable[str], astral: bool) -> list[int]:
    """UTF-16 code units of each cluster: its length, unless the text has characters past
    the BMP (emoji), which take two."""
    if not astral:
        return list(map(len, clusters))
    return [
        (2 if cluster > _LAST_BMP else 1) if len(cluster) == 1 else _utf16_units(cluster)
        for cluster in clusters
    ]


def _utf16_units(text: str) -> int:
    """UTF-16 code units. A lone surrogate raises UnicodeEncodeError: no SMS can carry
    it, and intake turns the error into the record's refusal (`usage.submissions`)."""
    return len(text.encode("utf-16-le")) // 2


def _extension_chars(text: str) -> int:
    """How many characters of a GSM-7 text are extension characters (two septets each)."""
    return sum(text.count(char) for char in GSM7_EXTENSION) if not _BASIC_ONLY(text) else 0


def _pack(sizes: list[int], capacity: int) -> int:
    """Parts needed to send units of these sizes in order, never splitting one."""
    parts, free = 1, capacity
    for size in sizes:
        if size <= free:
            free -= size
            continue
        if size <= capacity:
            parts, free = parts + 1, capacity - size
            continue
        # A cluster longer than a whole part (e.g. a long chain of combining marks)
        # cannot stay whole; it takes fresh parts of its own and the rest is free.
        whole, rest = divmod(size, capacity)
        parts += whole + (1 if rest else 0)
        free = capacity - rest if rest else 0
    return parts
