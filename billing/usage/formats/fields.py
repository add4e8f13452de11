"""Field readers shared by the CDR parsers; each raises ValueError with a short reason."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from billing.usage.numbers import to_e164

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def stamp(text: str, zone: tzinfo, name: str) -> datetime:
    """A `%Y-%m-%d %H:%M:%S` wall-clock stamp in `zone` (UTC for usegmtime), as UTC."""
    try:
        naive = datetime.strptime(text.strip(), STAMP_FORMAT)  # noqa: DTZ007 (zone below)
    except ValueError:
        raise ValueError(f"bad {name} time {text!r}") from None
    return naive.replace(tzinfo=zone).astimezone(UTC)


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
