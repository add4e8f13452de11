"""The canonical usage event every importer produces, and the reject it yields instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from billing.rating.plans import Service
from billing.rating.records import UsageRecord


class Disposition(StrEnum):
    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    FAILED = "FAILED"
    CONGESTION = "CONGESTION"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One usage row in canonical form; timestamps are aware UTC (`_at`)."""

    source_system: str  # asterisk, freeswitch, generic…
    source_id: str  # uniqueid / uuid / callid / wamid: the idempotency key with the system
    service: Service
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: int
    billable_s: int
    disposition: Disposition
    units: int = 1
    account: str = ""
    linked_id: str = ""  # groups the CDRs of one call (Asterisk linkedid)
    category: str = ""
    pricing_type: str = "regular"
    line_no: int = 0

    @property
    def answered(self) -> bool:
        # billsec or an answer time, never the hangup cause (reference/usage.md §4).
        return self.billable_s > 0 or self.answered_at is not None

    def to_usage_record(self) -> UsageRecord:
        """The rater's view: timed usage is rated from the answer time when there is one."""
        return UsageRecord(
            source_id=self.source_id,
            service=self.service,
            started_at=self.answered_at or self.started_at,
            destination=self.to_number,
            billable_s=self.billable_s,
            answered=self.answered,
            units=self.units,
            category=self.category,
            pricing_type=self.pricing_type,
        )


@dataclass(frozen=True, slots=True)
class Reject:
    """A row that could not be read, kept with why and where."""

    source_system: str
    line_no: int
    reason: str
    raw: tuple[str, ...] = ()
