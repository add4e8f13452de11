"""FreeSWITCH `mod_cdr_csv`, read as a stream.

Each template in cdr_csv.conf.xml is a list of channel variables; a profile names the
template's columns in order. The stock `example` (the vanilla default, 15 columns, all
quoted) and `asterisk` (18 columns) templates are provided. `*_stamp` variables are the
switch's local wall-clock time. Whether a call was answered comes from `billsec` or a
non-empty `answer_stamp`, never from `hangup_cause`: NORMAL_CLEARING with billsec 0 is
common for calls that never connected (reference/usage.md §4).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from billing.rating.plans import Service
from billing.usage.events import Disposition, Reject, UsageEvent
from billing.usage.formats.fields import number, optional_stamp, seconds, stamp

SOURCE = "freeswitch"
EXAMPLE_TEMPLATE = (
    "caller_id_name", "caller_id_number", "destination_number", "context", "start_stamp",
    "answer_stamp", "end_stamp", "duration", "billsec", "hangup_cause", "uuid", "bleg_uuid",
    "accountcode", "read_codec", "write_codec",
)  # fmt: skip
ASTERISK_TEMPLATE = (
    "accountcode", "caller_id_number", "destination_number", "context", "caller_id",
    "channel_name", "bridge_channel", "last_app", "last_arg", "start_stamp", "answer_stamp",
    "end_stamp", "duration", "billsec", "hangup_cause", "amaflags", "uuid", "userfield",
)  # fmt: skip
REQUIRED = frozenset(
    {"destination_number", "start_stamp", "answer_stamp", "end_stamp", "duration", "billsec",
     "hangup_cause", "uuid"}
)  # fmt: skip
UNANSWERED_CAUSES = {
    "NO_ANSWER": Disposition.NO_ANSWER,
    "NO_USER_RESPONSE": Disposition.NO_ANSWER,
    "USER_BUSY": Disposition.BUSY,
    "ORIGINATOR_CANCEL": Disposition.CANCEL,
}


@dataclass(frozen=True, slots=True)
class FreeSwitchProfile:
    columns: tuple[str, ...] = EXAMPLE_TEMPLATE
    timezone: str = "Africa/Dar_es_Salaam"  # the switch's local zone
    country_code: str = "255"

    def __post_init__(self) -> None:
        missing = REQUIRED - set(self.columns)
        if missing:
            raise ValueError(f"template lacks {', '.join(sorted(missing))}")


def disposition(hangup_cause: str, answered: bool) -> Disposition:
    if answered:
        return Disposition.ANSWERED
    return UNANSWERED_CAUSES.get(hangup_cause.strip().upper(), Disposition.FAILED)


def parse(
    lines: Iterable[str], profile: FreeSwitchProfile | None = None
) -> Iterator[UsageEvent | Reject]:
    """Yield one event or reject per CDR row of a mod_cdr_csv stream."""
    profile = profile or FreeSwitchProfile()
    zone = ZoneInfo(profile.timezone)
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
        if len(row) != len(profile.columns):
            reason = f"expected {len(profile.columns)} columns, got {len(row)}"
            yield Reject(SOURCE, reader.line_num, reason, tuple(row))
            continue
        fields = dict(zip(profile.columns, row, strict=True))
        try:
            yield _event(fields, zone, profile.country_code, reader.line_num)
        except ValueError as error:
            yield Reject(SOURCE, reader.line_num, str(error), tuple(row))


def _event(fields: dict[str, str], zone: ZoneInfo, country_code: str, line_no: int) -> UsageEvent:
    uuid = fields["uuid"].strip()
    if not uuid:
        raise ValueError("no uuid")
    duration = seconds(fields["duration"], "duration")
    billsec = seconds(fields["billsec"], "billsec")
    if billsec > duration:
        raise ValueError("billsec exceeds duration")
    answered_at = optional_stamp(fields["answer_stamp"], zone, "answer_stamp")
    return UsageEvent(
        source_system=SOURCE,
        source_id=uuid,
        service=Service.VOICE,
        from_number=fields.get("caller_id_number", "").strip(),
        to_number=number(fields["destination_number"], "destination", country_code),
        started_at=stamp(fields["start_stamp"], zone, "start_stamp"),
        answered_at=answered_at,
        ended_at=stamp(fields["end_stamp"], zone, "end_stamp"),
        duration_s=duration,
        billable_s=billsec,
        disposition=disposition(fields["hangup_cause"], billsec > 0 or answered_at is not None),
        account=fields.get("accountcode", "").strip(),
        linked_id=fields.get("bleg_uuid", "").strip(),
        line_no=line_no,
    )
