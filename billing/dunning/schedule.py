"""Which dunning steps an overdue invoice is due (pure: no I/O).

Reminders go out a configured number of days after the due date (e.g. 1, 7, 14);
after the grace period (e.g. 21 days) the tenant is restricted until it pays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Due:
    reminders: int  # how many reminders should have gone out by now
    restrict: bool  # past the grace period


def due_steps(due_on: date, today: date, reminder_days: Sequence[int], grace_days: int) -> Due:
    """What the schedule asks for an invoice due on `due_on`, as of `today` (EAT)."""
    late = (today - due_on).days
    if late <= 0:
        return Due(0, False)
    return Due(sum(1 for day in sorted(reminder_days) if late >= day), late >= grace_days)


AGE_BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, "90+"))


def bucket(age_days: int) -> str:
    """The aged-receivables bucket of an amount `age_days` after its invoice was issued."""
    for low, high, name in AGE_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return name
    return AGE_BUCKETS[0][2]  # issued "in the future" (a clock skew): the newest bucket
