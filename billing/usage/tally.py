"""What became of a batch or a file of usage, told the same way by the API, the CLI and
the demo: rated, waiting to be rated, not rateable (by reason), malformed, duplicates,
and new statuses of stored messages, each counted on its own.

`accepted` (rated + pending) and `rejected` (not rateable + malformed) are the sums the
summaries had before: a row stored as not rateable is `rejected` here, as `GET /v1/usage`
lists it, never accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

RATED = frozenset({"billed", "accrued", "unbilled"})
SAMPLES = 20


@dataclass
class Tally:
    rows: int = 0
    rated: int = 0  # stored and rated: billed, accrued, or unbilled (the wallet was short)
    pending: int = 0  # stored, left to the rating job (no PostgreSQL, or rating failed)
    updated: int = 0  # a status not seen before of a stored message: re-rated
    duplicates: int = 0
    malformed: int = 0
    not_rateable: dict[str, int] = field(default_factory=dict)  # reason -> rows
    rejected_samples: list[dict] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.rated + self.pending

    @property
    def rejected(self) -> int:
        return self.malformed + sum(self.not_rateable.values())

    def add(self, outcomes: Iterable[Any]) -> Tally:
        """Count outcomes (`intake.Outcome`: status, reason, usage_status)."""
        for outcome in outcomes:
            self.rows += 1
            if outcome.status == "duplicate":
                self.duplicates += 1
            elif outcome.status == "updated":
                self.updated += 1
            elif outcome.status == "rejected":
                self._rejected(outcome)
            elif outcome.usage_status in RATED:
                self.rated += 1
            else:
                self.pending += 1
        return self

    def merge(self, other: Tally) -> Tally:
        """Add another's counts (of the rows after these: its samples come after)."""
        self.rows += other.rows
        self.rated += other.rated
        self.pending += other.pending
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.malformed += other.malformed
        for reason, count in other.not_rateable.items():
            self.not_rateable[reason] = self.not_rateable.get(reason, 0) + count
        room = SAMPLES - len(self.rejected_samples)
        self.rejected_samples.extend(other.rejected_samples[: max(room, 0)])
        return self

    def _rejected(self, outcome: Any) -> None:
        reason = outcome.reason or "unknown"
        if reason.startswith("malformed"):
            self.malformed += 1
        else:
            kind = reason.split(":", 1)[0]
            self.not_rateable[kind] = self.not_rateable.get(kind, 0) + 1
        if len(self.rejected_samples) < SAMPLES:
            self.rejected_samples.append({"source_id": outcome.source_id, "reason": reason})

    def line(self) -> str:
        """One line for people: `5 rows: 2 rated, 1 not rateable (no_destination: 1), …`."""
        reasons = ", ".join(f"{kind}: {n:,}" for kind, n in sorted(self.not_rateable.items()))
        parts = [f"{self.rated:,} rated"]
        if self.pending:
            parts.append(f"{self.pending:,} waiting to be rated")
        if self.updated:
            parts.append(f"{self.updated:,} new statuses of stored messages")
        not_rateable = sum(self.not_rateable.values())
        parts.append(f"{not_rateable:,} not rateable" + (f" ({reasons})" if reasons else ""))
        parts.append(f"{self.malformed:,} malformed")
        parts.append(f"{self.duplicates:,} duplicates")
        return f"{self.rows:,} rows: " + ", ".join(parts)
