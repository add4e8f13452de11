"""Field readers shared by the CDR parsers; each raises ValueError with a short reason."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from billing.usage.numbers import to_e164

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_OFFSETS: dict[tuple[tzinfo, str], timedelta] = {}
_OFFSETS_LIMIT = 100_000
_from_iso = datetime.fromisoformat


def stamp(text: str, zone: tzinfo, name: str) -> datetime:
    """A `%Y-%m-%d %H:%M:%S` wall-clock stamp in `zone` (UTC for usegmtime), as UTC.

    The hot path of every import: `fromisoformat` (C) once the shape is checked, read as
    UTC by an appended `+00:00` (`datetime.replace(tzinfo=…)` costs ten times the parse)
    and moved by the zone's UTC offset, looked up once per local hour (offsets change on
    the hour). A stamp carrying its own offset is refused.
    """
    text = text.strip()
    if len(text) != 19 or text[10] != " " or not text[:4].isdigit():
        raise ValueError(f"bad {name} time {text!r}")
    try:
        moment = _from_iso(text + "+00:00")
    except ValueError:
        raise ValueError(f"bad {name} time {text!r}") from None
    key = (zone, text[:13])
    offset = _OFFSETS.get(key)
    if offset is None:
        offset = moment.replace(tzinfo=zone).utcoffset() or timedelta(0)
        if len(_OFFSETS) >= _OFFSETS_LIMIT:
            _OFFSETS.clear()
        _OFFSETS[key] = offset
    return moment - offset


def optional_stamp(text: str, zone: tzinfo, name: str) -> datetime | None:
    # Asterisk writes an unset answer time as an empty field; FreeSWITCH as "".
    return stamp(text, zone, name) if text.strip() else None


def seconds(text: str, name: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"bad {name} {text!r}") from None
    if value < 0:
        raise ValueError(f"negative {name}")
    return value


def number(text: str, name: str, country_code: str) -> str:
    digits = to_e164(text, country_code)
    if not digits:
        raise ValueError(f"no {name} number")
    return digits
