"""Recording an event for the platform, in the transaction of the change it tells of."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.ids import new_id
from billing.events.models import EventStatus, PlatformEvent
from billing.jobs.outbox import defer, defer_many

DELIVER_JOB = "events.deliver"


def emit(session: Session, *, tenant_id: str, type: str, data: dict[str, Any]) -> str:
    """Write the event and its delivery job; both exist only if the caller's change commits.

    `data` must be JSON without floats: amounts travel as integer minor units.
    """
    _refuse_floats(data)
    event = PlatformEvent(
        id=new_id("evt"),
        type=type,
        tenant_id=tenant_id,
        data=data,
        created_at=utcnow(),
        attempts=0,
        status=EventStatus.PENDING,
    )
    session.add(event)
    session.flush()
    defer(session, DELIVER_JOB, event.id, queue="events")
    return event.id


def emit_many(session: Session, events: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """`emit` for many (tenant_id, type, data) at once: one insert for the events and one
    for their delivery jobs."""
    if not events:
        return []
    now = utcnow()
    rows = []
    for tenant_id, type_, data in events:
        _refuse_floats(data)
        rows.append(
            {
                "id": new_id("evt"),
                "type": type_,
                "tenant_id": tenant_id,
                "data": data,
                "created_at": now,
                "attempts": 0,
                "status": EventStatus.PENDING,
            }
        )
    session.execute(insert(PlatformEvent.__table__), rows)
    ids = [row["id"] for row in rows]
    defer_many(session, DELIVER_JOB, [[event_id] for event_id in ids], queue="events")
    return ids


def _refuse_floats(value: Any, path: str = "data") -> None:
    """A float in an event is money gone wrong somewhere upstream; stop it here."""
    if isinstance(value, float):
        raise TypeError(f"{path} is a float; send money as integer minor units")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_floats(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{path}[{index}]")
