"""Reservations: what authorisations answered, held until rated (see `Reservation`).

`held` is what open, unexpired reservations hold of a tenant's money and bundle units:
authorisation takes it off the budget and the bundles before pricing an answer, so
sessions authorised at the same time can never promise the same money twice (the
authorisations of one tenant are serialised by a transaction-scoped advisory lock).
`settle_for_usage` closes the reservations of usage as it is rated: the record's own
charge takes the reservation's place (the wallet pays it as usual) and the rest is free
again. `expire` closes those past their time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql, written
from billing.usage.models import Reservation, ReservationStatus

GRACE_S = 300  # a call's CDR may come this long after its longest allowed end
MESSAGE_HOLD_S = 3600  # a message's first chargeable status is awaited this long
_table = Reservation.__table__
_OPEN = ReservationStatus.OPEN.value
# Open reservations, as `ix_reservations_open` and `uq_reservations_open_session` are
# written: every query of them states it so (`billing.core.db.written`).
IS_OPEN = _table.c.status == written(_OPEN)
_HELD_NOW = (
    _table.c.tenant_id == bindparam("tenant_id"),
    IS_OPEN,
    _table.c.expires_at > bindparam("now"),
)
_HELD = select(
    func.coalesce(func.sum(_table.c.amount_minor), 0).label("amount"),
    func.count().label("open"),
).where(*_HELD_NOW)
# For authorisation's one read: money held, and how many hold bundle units.
HELD_MONEY = (
    select(func.coalesce(func.sum(_table.c.amount_minor), 0)).where(*_HELD_NOW).scalar_subquery()
)
HOLDING_UNITS = (
    select(func.count()).where(*_HELD_NOW, _table.c.bundle_draws.is_not(None)).scalar_subquery()
)
_HELD_DRAWS = select(_table.c.bundle_draws).where(*_HELD_NOW, _table.c.bundle_draws.is_not(None))

# The columns are the parameters': one statement compiled and cached, not one built a hold.
_INSERT = _table.insert().returning(_table.c.id)

LOCK = (
    "SELECT set_config('synchronous_commit', 'off', true),"
    " pg_advisory_xact_lock(hashtextextended(%s, 0))"
)
RELEASE = (
    "UPDATE reservations SET status = %s, closed_at = %s"
    " WHERE tenant_id = %s AND session_id = %s AND status = 'open'"  # as the index is written
)


def lock_tenant(session: Session, tenant_id: str, session_id: str | None, now: datetime) -> None:
    """Serialise this tenant's authorisations until the transaction ends (PostgreSQL), then
    release what `session_id` held (a re-authorisation replaces the session's hold).

    The two statements travel pipelined, in one round trip: the server still runs them
    in order, so the release (a statement of its own, with its own snapshot) sees every
    hold committed before the lock was granted.

    The transaction commits without waiting for its WAL flush: the flush was most of an
    authorisation's time, and what a crash within that instant can lose is the hold
    itself (the call is then not held: rated as usual, unbilled if the wallet is short),
    never money: no ledger entry is written here."""
    if not is_postgresql(session):
        if session_id:
            release_session(session, tenant_id, session_id, now)
        return
    raw = session.connection().connection.driver_connection  # the transaction has begun
    with raw.pipeline(), raw.cursor() as cursor:
        cursor.execute(LOCK, (f"malipo-reserve:{tenant_id}",))
        if session_id:
            released = ReservationStatus.RELEASED.value
            cursor.execute(RELEASE, (released, now, tenant_id, session_id))


def held(connection: Connection, tenant_id: str, now: datetime) -> tuple[int, dict[str, int]]:
    """Money (minor units, what the budget pays) and bundle units held now."""
    row = connection.execute(_HELD, {"tenant_id": tenant_id, "now": now}).one()
    units: dict[str, int] = defaultdict(int)
    if row.open:
        for (draws,) in connection.execute(_HELD_DRAWS, {"tenant_id": tenant_id, "now": now}):
            for name, taken in (draws or {}).items():
                units[name] += int(taken)
    return int(row.amount), dict(units)


def release_session(session: Session, tenant_id: str, session_id: str, now: datetime) -> None:
    """A new authorisation of a session replaces the one it held (re-authorisation)."""
    session.execute(
        update(_table)
        .where(
            _table.c.tenant_id == tenant_id,
            _table.c.session_id == session_id,
            IS_OPEN,
        )
        .values(status=ReservationStatus.RELEASED.value, closed_at=now)
    )


def hold(session: Session, values: dict[str, Any]) -> int:
    """Hold an answer: insert its row (`hold_values`); its id."""
    if values["bundle_draws"] is None:  # SQL NULL (a JSON None would be stored as 'null')
        values = {name: value for name, value in values.items() if name != "bundle_draws"}
    return session.execute(_INSERT, values).scalar_one()


def hold_values(
    *,
    tenant_id: str,
    currency: str,
    service: str,
    destination: str,
    session_id: str | None,
    amount_minor: int,
    seconds: int | None,
    messages: int | None,
    bundle_draws: dict[str, int],
    now: datetime,
) -> dict[str, Any]:
    """The row that holds an answer: a call until its longest end and the grace after it,
    a message until its first chargeable status is due."""
    wait = (seconds or 0) + GRACE_S if seconds is not None else MESSAGE_HOLD_S
    return {
        "tenant_id": tenant_id,
        "currency": currency,
        "service": service,
        "destination": destination,
        "session_id": session_id,
        "amount_minor": amount_minor,
        "seconds": seconds,
        "messages": messages,
        "status": _OPEN,
        "created_at": now,
        "expires_at": now + timedelta(seconds=wait),
        "bundle_draws": bundle_draws or None,
    }


def settle_for_usage(session: Session, rows: Iterable[Any]) -> int:
    """Close the open reservations of rated usage rows (`tenant_id`, `source_id`,
    `service`, `to_number`, `id`); how many were closed. The session id given at
    authorisation is matched first, then the oldest open one of the same service and
    destination."""
    rows = [row for row in rows if row.tenant_id]
    if not rows:
        return 0
    tenants = sorted({row.tenant_id for row in rows})
    found = session.execute(
        select(_table.c.id, _table.c.tenant_id, _table.c.session_id, _table.c.service,
               _table.c.destination)
        .where(_table.c.tenant_id.in_(tenants), IS_OPEN)
        .order_by(_table.c.id)
    ).all()  # fmt: skip
    if not found:
        return 0
    by_session = {(r.tenant_id, r.session_id): r.id for r in found if r.session_id}
    by_route: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for r in found:
        if not r.session_id:
            by_route[(r.tenant_id, r.service, r.destination)].append(r.id)
    closed: list[dict[str, int]] = []
    for row in rows:
        reservation_id = by_session.pop((row.tenant_id, row.source_id), None)
        if reservation_id is None:
            waiting = by_route.get((row.tenant_id, row.service, row.to_number))
            reservation_id = waiting.pop(0) if waiting else None
        if reservation_id is not None:
            closed.append({"b_id": reservation_id, "b_usage": row.id})
    if closed:
        session.execute(
            update(_table)
            .where(_table.c.id == bindparam("b_id"), IS_OPEN)
            .values(
                status=ReservationStatus.SETTLED.value,
                usage_id=bindparam("b_usage"),
                closed_at=utcnow(),
            ),
            closed,
            execution_options={"synchronize_session": False},
        )
    return len(closed)


def expire(session: Session, now: datetime | None = None) -> int:
    """Close the reservations past their time; how many."""
    result = session.execute(
        update(_table)
        .where(IS_OPEN, _table.c.expires_at <= (now or utcnow()))
        .values(status=ReservationStatus.EXPIRED.value, closed_at=now or utcnow())
    )
    return result.rowcount or 0
