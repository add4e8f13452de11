"""Malipo's generic usage CSV, for sources without a native format.

The first row is a header; columns may come in any order and unknown ones are ignored.

| column | required | meaning |
|---|---|---|
| source_id | yes | the sender's unique id for the row (idempotency key) |
| service | yes | voice, sms, whatsapp, ai_agent_minutes, recording_minutes, number_rental |
| to | voice, sms, whatsapp | destination number (E.164, +E.164 or national 0…) |
| from | no | caller or sender |
| started_at | yes | ISO 8601; without an offset it is read in the profile's zone |
| answered_at, ended_at | no | ISO 8601, same rule; empty when not answered |
| billable_s | no (0) | billed seconds for timed services |
| duration_s | no (billable_s) | seconds from start to end |
| units | no (1) | SMS segments, WhatsApp messages, rental months |
| disposition | no | ANSWERED, NO_ANSWER, BUSY, FAILED, CONGESTION, CANCEL |
| category, pricing_type | no | WhatsApp template category and webhook pricing.type |
| account | no | the sender's account or sub-account |
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from billing.rating.plans import ROUTED_SERVICES, Service
from billing.usage.events import Disposition, Reject, UsageEvent
from billing.usage.formats.fields import number, seconds

SOURCE = "generic"
REQUIRED = ("source_id", "service", "started_at")


@dataclass(frozen=True, slots=True)
class GenericProfile:
    timezone: str = "Africa/Dar_es_Salaam"  # for timestamps written without an offset
    country_code: str = "255"


def parse(
    lines: Iterable[str], profile: GenericProfile | None = None
) -> Iterator[UsageEvent | Reject]:
    """Yield one event or reject per data row; a bad header rejects the whole file once."""
    profile = profile or GenericProfile()
    reader = csv.DictReader(lines, strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as error:
        yield Reject(SOURCE, 1, f"unreadable header: {error}")
        return
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        yield Reject(SOURCE, 1, f"header lacks {', '.join(missing)}", tuple(header))
        return
    zone = ZoneInfo(profile.timezone)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Reject(SOURCE, reader.line_num, f"unreadable csv: {error}")
            continue
        raw = tuple(value or "" for value in row.values() if isinstance(value, str))
        if None in row or None in row.values():
            yield Reject(SOURCE, reader.line_num, "column count differs from header", raw)
            continue
        try:
            yield _event(row, zone, profile.country_code, reader.line_num)
        except ValueError as error:
            yield Reject(SOURCE, reader.line_num, str(error), raw)


def _moment(text: str | None, zone: ZoneInfo, name: str) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"bad {name} {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _event(row: dict[str, str], zone: ZoneInfo, country_code: str, line_no: int) -> UsageEvent:
    source_id = row["source_id"].strip()
    if not source_id:
        raise ValueError("no source_id")
    try:
        service = Service(row["service"].strip().lower())
    except ValueError:
        raise ValueError(f"unknown service {row['service']!r}") from None
    started_at = _moment(row["started_at"], zone, "started_at")
    if started_at is None:
        raise ValueError("no started_at")
    to_number = row.get("to") or ""
    if service in ROUTED_SERVICES:
        to_number = number(to_number, "to", country_code)
    billable = seconds(row.get("billable_s") or "0", "billable_s")
    duration = seconds(row.get("duration_s") or str(billable), "duration_s")
    if billable > duration:
        raise ValueError("billable_s exceeds duration_s")
    units = seconds(row.get("units") or "1", "units")
    answered_at = _moment(row.get("answered_at"), zone, "answered_at")
    return UsageEvent(
        source_system=SOURCE,
        source_id=source_id,
        service=service,
        from_number=(row.get("from") or "").strip(),
        to_number=to_number.strip(),
        started_at=started_at,
        answered_at=answered_at,
        ended_at=_moment(row.get("ended_at"), zone, "ended_at"),
        duration_s=duration,
        billable_s=billable,
        disposition=_disposition(row.get("disposition"), billable, answered_at, service),
        units=units,
        account=(row.get("account") or "").strip(),
        category=(row.get("category") or "").strip().lower(),
        pricing_type=(row.get("pricing_type") or "regular").strip().lower(),
        line_no=line_no,
    )


def _disposition(
    text: str | None, billable: int, answered_at: datetime | None, service: Service
) -> Disposition:
    if text and text.strip():
        try:
            return Disposition(text.strip().upper().replace(" ", "_"))
        except ValueError:
            raise ValueError(f"unknown disposition {text!r}") from None
    if service is not Service.VOICE or billable > 0 or answered_at is not None:
        return Disposition.ANSWERED
    return Disposition.NO_ANSWER
