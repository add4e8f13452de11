"""Destinations: an effective-dated prefix table matched by longest prefix.

Numbers are E.164 digit strings without '+', e.g. 255712345678. The table is a dict
keyed by prefix; a lookup probes the number's prefixes from the longest length the
table holds down to one digit and stops at the first prefix with a row in force at the
given instant (CGRateS does the same over its reverse-destination index). To skip most
probes, the first `_STEM` (4) digits of a number pick the only lengths worth trying: those
of the prefixes that start with these digits or are a prefix of them. That is a handful
of dict probes per number, however large the table, and loading is one pass.

Validity is checked on the aware instants themselves, the bounds held in UTC: comparing
two datetimes is a fraction of the cost of turning one into epoch seconds, which the
rater would otherwise pay on every record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

_OPEN_START = datetime.min.replace(tzinfo=UTC)  # stands in for "no start date"
_OPEN_END = datetime.max.replace(tzinfo=UTC)  # and for "no end date"
# Digits that choose the candidate prefix lengths of a number. Four, not three: over the
# bench's 5,000-prefix table, 2.1 probes a number rather than 2.9.
_STEM = 4


@dataclass(frozen=True, slots=True)
class Destination:
    """One prefix row: which zone it rates in, valid over [effective_from, effective_to)."""

    prefix: str
    zone: str
    country: str = ""  # ISO 3166 alpha-2
    operator: str = ""
    market: str = ""  # WhatsApp pricing market, e.g. "rest_of_africa"
    effective_from: datetime | None = None
    effective_to: datetime | None = None

    def __post_init__(self) -> None:
        if not (self.prefix.isascii() and self.prefix.isdigit()):
            raise ValueError(f"prefix {self.prefix!r} is not E.164 digits")
        for moment in (self.effective_from, self.effective_to):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("effective dates must be timezone-aware")


def _span_start(span: tuple[datetime, datetime, Destination]) -> tuple[datetime, datetime]:
    return span[0], span[1]


class DestinationTable:
    """Longest-prefix lookup over destinations, each row possibly time-limited."""

    __slots__ = ("_lengths", "_rows", "_short", "_stems")

    def __init__(self, destinations: Iterable[Destination]) -> None:
        # A prefix with one undated row maps straight to it: nothing to compare per lookup.
        # Any other maps to its list of (from, to, destination), by start.
        rows: dict[str, Destination | list[tuple[datetime, datetime, Destination]]] = {}
        for dest in destinations:
            start, end = dest.effective_from, dest.effective_to
            found = rows.get(dest.prefix)
            if found is None and start is None and end is None:
                rows[dest.prefix] = dest
                continue
            span = (
                _OPEN_START if start is None else start.astimezone(UTC),
                _OPEN_END if end is None else end.astimezone(UTC),
                dest,
            )
            if found is None:
                rows[dest.prefix] = [span]
            elif found.__class__ is Destination:
                rows[dest.prefix] = [(_OPEN_START, _OPEN_END, found), span]
            else:
                found.append(span)
        for spans in rows.values():
            if spans.__class__ is list and len(spans) > 1:
                spans.sort(key=_span_start)
        self._rows = rows
        self._lengths = tuple(sorted({len(prefix) for prefix in self._rows}, reverse=True))
        # Lengths of prefixes shorter than a stem: all a number whose stem is unknown can match.
        self._short = tuple(length for length in self._lengths if length < _STEM)
        stems: dict[str, set[int]] = {}
        for prefix in rows:
            if len(prefix) >= _STEM:
                stems.setdefault(prefix[:_STEM], set()).add(len(prefix))
        self._stems = {
            stem: tuple(sorted(found | {n for n in self._short if stem[:n] in rows}, reverse=True))
            for stem, found in stems.items()
        }

    def __len__(self) -> int:
        return len(self._rows)

    def match(self, number: str, at: datetime) -> Destination | None:
        """The destination of `number` in force at the aware instant `at`."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        rows = self._rows
        lengths = self._stems.get(number[:_STEM], self._short)
        for length in lengths:
            # A length past the number's end probes the whole number: the same answer the
            # number's own length would give, so no check is needed.
            spans = rows.get(number[:length])
            if spans is None:
                continue
            if spans.__class__ is Destination:
                return spans
            for start, end, dest in spans:
                if start <= at < end:
                    return dest
        return None

    def match_epoch(self, number: str, at_s: int) -> Destination | None:
        """As `match`, at an instant in epoch seconds (what the rater used to pass)."""
        return self.match(number, datetime.fromtimestamp(at_s, UTC))
