"""Asterisk `cdr_csv` Master.csv, read as a stream.

The 16 base columns are always there; `loguniqueid`, `loguserfield` and
`newcdrcolumns` in cdr.conf append uniqueid, userfield, and peeraccount + linkedid +
sequence, so a file has 16 to 21 columns. 17 columns can mean either of two layouts,
so the layout comes from a profile, never from guessing. Strings are double-quoted,
integers bare, an unset answer time is an empty bare field, and stamps are local time
unless `usegmtime=yes` (reference/usage.md §4).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from billing.rating.plans import Service
from billing.usage.events import Disposition, Reject, UsageEvent
from billing.usage.formats.fields import number, optional_stamp, seconds, stamp

SOURCE = "asterisk"
BASE_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)  # fmt: skip
DISPOSITIONS = {
    "ANSWERED": Disposition.ANSWERED,
    "NO ANSWER": Disposition.NO_ANSWER,
    "BUSY": Disposition.BUSY,
    "FAILED": Disposition.FAILED,
    "CONGESTION": Disposition.CONGESTION,
    # Numeric codes as Asterisk 21 writes them via CDR(disposition,u).
    "0": Disposition.NO_ANSWER,
    "1": Disposition.NO_ANSWER,
    "2": Disposition.FAILED,
    "4": Disposition.BUSY,
    "8": Disposition.ANSWERED,
    "16": Disposition.CONGESTION,
}


@dataclass(frozen=True, slots=True)
class AsteriskProfile:
    """The `[csv]` settings of the cdr.conf that wrote the file."""

    loguniqueid: bool = True  # the sample cdr.conf turns these two on
    loguserfield: bool = True
    newcdrcolumns: bool = False
    usegmtime: bool = False
    timezone: str = "Africa/Dar_es_Salaam"  # the PBX's local zone
    country_code: str = "255"

    @property
    def columns(self) -> tuple[str, ...]:
        extra: tuple[str, ...] = ()
        if self.loguniqueid:
            extra += ("uniqueid",)
        if self.loguserfield:
            extra += ("userfield",)
        if self.newcdrcolumns:
            extra += ("peeraccount", "linkedid", "sequence")
        return BASE_COLUMNS + extra

    @property
    def zone(self) -> tzinfo:
        return UTC if self.usegmtime else ZoneInfo(self.timezone)


def parse(
    lines: Iterable[str], profile: AsteriskProfile | None = None
) -> Iterator[UsageEvent | Reject]:
    """Yield one event or reject per CDR row of a Master.csv stream."""
    profile = profile or AsteriskProfile()
    columns = profile.columns
    zone = profile.zone
    reader = csv.reader(lines, strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Reject(SOURCE, reader.line_num, f"unreadable csv: {error}")
            continue
        if not row:
            continue
        if len(row) != len(columns):
            reason = f"expected {len(columns)} columns, got {len(row)}"
            yield Reject(SOURCE, reader.line_num, reason, tuple(row))
            continue
        try:
            yield _event(dict(zip(columns, row, strict=True)), zone, profile, reader.line_num)
        except ValueError as error:
            yield Reject(SOURCE, reader.line_num, str(error), tuple(row))


def _event(
    fields: dict[str, str], zone: tzinfo, profile: AsteriskProfile, line_no: int
) -> UsageEvent:
    disposition = DISPOSITIONS.get(fields["disposition"].strip().upper())
    if disposition is None:
        raise ValueError(f"unknown disposition {fields['disposition']!r}")
    duration = seconds(fields["duration"], "duration")
    billsec = seconds(fields["billsec"], "billsec")
    if billsec > duration:
        raise ValueError("billsec exceeds duration")
    answered_at = optional_stamp(fields["answer"], zone, "answer")
    if answered_at is None and billsec > 0:
        raise ValueError("billsec without an answer time")
    source_id = fields.get("uniqueid", "").strip()
    started_at = stamp(fields["start"], zone, "start")
    return UsageEvent(
        source_system=SOURCE,
        # Without loguniqueid the channel and start time are the best key there is.
        source_id=source_id or f"{fields['channel']}@{started_at.isoformat()}",
        service=Service.VOICE,
        from_number=fields["src"].strip(),
        to_number=number(fields["dst"], "dst", profile.country_code),
        started_at=started_at,
        answered_at=answered_at,
        ended_at=stamp(fields["end"], zone, "end"),
        duration_s=duration,
        billable_s=billsec,
        disposition=disposition,
        account=fields["accountcode"].strip(),
        linked_id=fields.get("linkedid", "").strip(),
        line_no=line_no,
    )
