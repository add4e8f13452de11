"""Seeing, from outside, that another connection is blocked on a lock: what a test waits
for (with `eventually`) instead of sleeping and hoping the other side got there."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker


def waiting_on_a_lock(sessions: sessionmaker[Session], statement_part: str) -> bool:
    """True while a statement holding `statement_part` (a table, a clause) waits for a
    lock in this database: a table lock, or a row another transaction holds."""
    with sessions() as session:
        waiting = session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                " AND position(:part in query) > 0"
            ),
            {"part": statement_part},
        ).scalar_one()
    return waiting > 0
