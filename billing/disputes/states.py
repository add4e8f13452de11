"""A dispute's life (pure): open → investigating → resolved | rejected, and its SLA clock.

Staff may resolve or reject straight from open (the evidence settles it at a glance);
nothing leaves resolved or rejected: a new question is a new dispute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

OPEN, INVESTIGATING, RESOLVED, REJECTED = "open", "investigating", "resolved", "rejected"
CLOSED = frozenset({RESOLVED, REJECTED})
_NEXT = {
    OPEN: frozenset({INVESTIGATING, RESOLVED, REJECTED}),
    INVESTIGATING: frozenset({RESOLVED, REJECTED}),
    RESOLVED: frozenset(),
    REJECTED: frozenset(),
}
# Hours from opening to a decision, per priority.
SLA_HOURS = {"urgent": 4, "high": 24, "normal": 72, "low": 168}


class TransitionRefused(Exception):
    pass


def move(current: str, wanted: str) -> str:
    if wanted not in _NEXT[current]:
        raise TransitionRefused(f"a dispute that is {current} cannot become {wanted}")
    return wanted


def due_at(opened_at: datetime, priority: str) -> datetime:
    return opened_at + timedelta(hours=SLA_HOURS[priority])


def sla_state(status: str, due: datetime, closed_at: datetime | None, now: datetime) -> str:
    """`met`, `breached` (decided late, or still open past due), or `running`."""
    if status in CLOSED:
        return "met" if closed_at is not None and closed_at <= due else "breached"
    return "breached" if now > due else "running"
