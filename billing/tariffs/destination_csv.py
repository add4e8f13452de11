"""The destination CSV: one prefix row per line, checked line by line.

Header (any order; `prefix` and `zone` required):
    prefix,zone,name,country,operator,market,valid_from,valid_to
`prefix` is E.164 digits (a leading + is dropped); `valid_from`/`valid_to` are RFC 3339
instants with an offset, or dates meaning local midnight in Dar es Salaam, when tariffs
change; empty means open. Every bad line is reported with its line number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from billing.rating.timebands import DAR_ES_SALAAM

COLUMNS = ("prefix", "zone", "name", "country", "operator", "market", "valid_from", "valid_to")
REQUIRED = ("prefix", "zone")
MAX_PREFIX_DIGITS = 15  # E.164 numbers have at most 15 digits
_ZONE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_LIMITS = {"name": 100, "operator": 40, "market": 40}
_DAR = ZoneInfo(DAR_ES_SALAAM)


@dataclass(frozen=True, slots=True)
class PrefixRow:
    line: int
    prefix: str
    zone: str
    name: str = ""
    country: str = ""
    operator: str = ""
    market: str = ""
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def content(self) -> tuple:
        """Everything but the line number: two rows with equal content are the same row."""
        return (
            self.prefix,
            self.zone,
            self.name,
            self.country,
            self.operator,
            self.market,
            self.valid_from,
            self.valid_to,
        )


@dataclass
class ParsedFile:
    rows: list[PrefixRow] = field(default_factory=list)
    errors: dict[int, list[str]] = field(default_factory=dict)


def parse_destinations(lines: Iterable[str]) -> ParsedFile:
    """Parse a whole file; rows and per-line errors, in file order."""
    parsed = ParsedFile()
    reader = csv.reader(_without_bom(lines))
    header_row = next(reader, None)
    if header_row is None:
        parsed.errors[1] = ["the file is empty: the first line must be the header"]
        return parsed
    header = [name.strip().lower() for name in header_row]
    problems = _check_header(header)
    if problems:
        parsed.errors[1] = problems
        return parsed
    for values in reader:
        line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(header):
            parsed.errors[line] = [f"{len(values)} fields where the header has {len(header)}"]
            continue
        row, errors = _row(line, dict(zip(header, (v.strip() for v in values), strict=True)))
        if errors:
            parsed.errors[line] = errors
        else:
            parsed.rows.append(row)  # type: ignore[arg-type]
    return parsed


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        yield line.removeprefix("\ufeff") if first else line
        first = False


def _check_header(header: list[str]) -> list[str]:
    problems = [f"unknown column {name!r}" for name in header if name not in COLUMNS]
    problems += [f"missing column {name!r}" for name in REQUIRED if name not in header]
    if len(set(header)) != len(header):
        problems.append("a column is named twice")
    return problems


def _row(line: int, values: dict[str, str]) -> tuple[PrefixRow | None, list[str]]:
    errors: list[str] = []
    prefix = values["prefix"].removeprefix("+")
    if not (prefix.isascii() and prefix.isdigit()) or len(prefix) > MAX_PREFIX_DIGITS:
        errors.append(f"prefix {values['prefix']!r} is not 1 to 15 E.164 digits")
    zone = values["zone"]
    if not _ZONE.fullmatch(zone):
        errors.append(f"zone {zone!r} is not a zone code like TZ-MOB-VODACOM")
    country = values.get("country", "").upper()
    if country and not _COUNTRY.fullmatch(country):
        errors.append(f"country {country!r} is not an ISO 3166 alpha-2 code")
    for name, limit in _LIMITS.items():
        if len(values.get(name, "")) > limit:
            errors.append(f"{name} is longer than {limit} characters")
    valid_from = _instant(values.get("valid_from", ""), "valid_from", errors)
    valid_to = _instant(values.get("valid_to", ""), "valid_to", errors)
    if valid_from and valid_to and valid_to <= valid_from:
        errors.append("valid_to must be after valid_from")
    if errors:
        return None, errors
    row = PrefixRow(
        line,
        prefix,
        zone,
        values.get("name", ""),
        country,
        values.get("operator", ""),
        values.get("market", ""),
        valid_from,
        valid_to,
    )
    return row, []


def _instant(text: str, name: str, errors: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), _DAR)
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append(f"{name} {text!r} is not a date (YYYY-MM-DD) or an RFC 3339 instant")
        return None
    if moment.tzinfo is None:
        errors.append(f"{name} {text!r} has no UTC offset")
        return None
    return moment
