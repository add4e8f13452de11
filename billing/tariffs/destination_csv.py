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
_PREFIX = re.compile(r"\+?[0-9]{1,15}")
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
    # Each PrefixRow field's position in the file, or None when the column is absent.
    where = [header.index(name) if name in header else None for name in COLUMNS]
    instants: dict[str, tuple[datetime | None, str]] = {"": (None, "")}
    width = len(header)
    for values in reader:
        if any("\x00" in value for value in values):
            parsed.errors[reader.line_num] = ["contains a NUL character (U+0000)"]
            continue
        if len(values) != width:
            if values and any(v.strip() for v in values):
                parsed.errors[reader.line_num] = [
                    f"{len(values)} fields where the header has {width}"
                ]
            continue
        fields = [values[i].strip() if i is not None else "" for i in where]
        if not any(fields):
            continue
        row, errors = _row(reader.line_num, fields, instants)
        if errors:
            parsed.errors[reader.line_num] = errors
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


def _row(
    line: int, fields: list[str], instants: dict[str, tuple[datetime | None, str]]
) -> tuple[PrefixRow | None, list[str]]:
    prefix, zone, name, country, operator, market, start, end = fields
    errors: list[str] = []
    if not _PREFIX.fullmatch(prefix):
        errors.append(f"prefix {prefix!r} is not 1 to 15 E.164 digits")
    prefix = prefix.removeprefix("+")
    if not _ZONE.fullmatch(zone):
        errors.append(f"zone {zone!r} is not a zone code like TZ-MOB-VODACOM")
    if country:
        country = country.upper()
        if not _COUNTRY.fullmatch(country):
            errors.append(f"country {country!r} is not an ISO 3166 alpha-2 code")
    for column, value in (("name", name), ("operator", operator), ("market", market)):
        if len(value) > _LIMITS[column]:
            errors.append(f"{column} is longer than {_LIMITS[column]} characters")
    valid_from = _instant(start, "valid_from", instants, errors)
    valid_to = _instant(end, "valid_to", instants, errors)
    if valid_from and valid_to and valid_to <= valid_from:
        errors.append("valid_to must be after valid_from")
    if errors:
        return None, errors
    return PrefixRow(line, prefix, zone, name, country, operator, market, valid_from, valid_to), []


def _instant(
    text: str, name: str, known: dict[str, tuple[datetime | None, str]], errors: list[str]
) -> datetime | None:
    """A date or an instant; files repeat a handful of them, so each is parsed once."""
    found = known.get(text)
    if found is None:
        found = known[text] = _parse_instant(text)
    moment, problem = found
    if problem:
        errors.append(f"{name} {text!r} {problem}")
    return moment


def _parse_instant(text: str) -> tuple[datetime | None, str]:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), _DAR), ""
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, "is not a date (YYYY-MM-DD) or an RFC 3339 instant"
    if moment.tzinfo is None:
        return None, "has no UTC offset"
    return moment, ""
