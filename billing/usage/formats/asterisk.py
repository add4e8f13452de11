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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
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
    lines: Iterable[str], profile: AsteriskProfile | None = None, build: Callable | None = None
) -> Iterator[UsageEvent | Reject]:
    """Yield one event or reject per CDR row of a Master.csv stream.

    `build` makes each good row's item of its fields as `_call` reads them (source id,
    numbers, stamps, seconds, disposition, account, linked id, line): by default a
    `UsageEvent`; the parsing process makes the row it sends (`billing.usage.wire`).
    """
    profile = profile or AsteriskProfile()
    item = row_reader(profile, build or _usage_event)
    width = len(profile.columns)
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
        if len(row) != width:
            reason = f"expected {width} columns, got {len(row)}"
            yield Reject(SOURCE, reader.line_num, reason, tuple(row))
            continue
        yield item(row, reader.line_num)


def row_reader(profile: AsteriskProfile, build: Callable) -> Callable[[list[str], int], object]:
    """What `parse` yields for a row of the profile's width on a line: `build` of its
    fields, or the reject saying which one is bad."""
    columns = profile.columns
    zone = profile.zone
    # Fields by position: the 16 base columns never move, the optional ones by profile.
    uniqueid = columns.index("uniqueid") if "uniqueid" in columns else None
    linkedid = columns.index("linkedid") if "linkedid" in columns else None

    def item(row: list[str], line_no: int) -> object:
        try:
            return build(*_call(row, uniqueid, linkedid, zone, profile), line_no)
        except ValueError as error:
            return Reject(SOURCE, line_no, str(error), tuple(row))

    return item


_VOICE = Service.VOICE


def _call(
    row: list[str],
    uniqueid: int | None,
    linkedid: int | None,
    zone: tzinfo,
    profile: AsteriskProfile,
) -> tuple:
    """A row's fields, read and checked (ValueError with the reason if one is bad)."""
    (account, src, dst, _dcontext, _clid, channel, _dstchannel, _lastapp, _lastdata, start,
     answer, end, duration_text, billsec_text, disposition_text, _amaflags) = row[:16]  # fmt: skip
    disposition = DISPOSITIONS.get(disposition_text.strip().upper())
    if disposition is None:
        raise ValueError(f"unknown disposition {disposition_text!r}")
    duration = seconds(duration_text, "duration")
    billsec = seconds(billsec_text, "billsec")
    if billsec > duration:
        raise ValueError("billsec exceeds duration")
    answered_at = optional_stamp(answer, zone, "answer")
    if answered_at is None and billsec > 0:
        raise ValueError("billsec without an answer time")
    source_id = row[uniqueid].strip() if uniqueid is not None else ""
    started_at = stamp(start, zone, "start")
    return (
        # Without loguniqueid the channel and start time are the best key there is.
        source_id or f"{channel}@{started_at.isoformat()}",
        src.strip(),
        number(dst, "dst", profile.country_code),
        started_at,
        answered_at,
        stamp(end, zone, "end"),
        duration,
        billsec,
        disposition,
        account.strip(),
        row[linkedid].strip() if linkedid is not None else "",
    )


def _usage_event(
    source_id: str, from_number: str, to_number: str, started_at: datetime,
    answered_at: datetime | None, ended_at: datetime, duration_s: int, billable_s: int,
    disposition: Disposition, account: str, linked_id: str, line_no: int,
) -> UsageEvent:  # fmt: skip
    return UsageEvent(
        source_system=SOURCE,
        source_id=source_id,
        service=_VOICE,
        from_number=from_number,
        to_number=to_number,
        started_at=started_at,
        answered_at=answered_at,
        ended_at=ended_at,
        duration_s=duration_s,
        billable_s=billable_s,
        disposition=disposition,
        account=account,
        linked_id=linked_id,
        line_no=line_no,
    )
