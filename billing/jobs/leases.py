"""Cluster-wide periodic tasks run once a period, however many workers tick.

Each worker's ticker keeps its own clock; before a leased task runs, the ticker claims
the period in PostgreSQL with one conditional statement (`due_at` moved forward only
if it has passed), so of M workers due at about the same moment exactly one runs it.
A task is thus run at most once a period and, while any worker is up, at least once
every two. The tasks stay safe to overlap (SKIP LOCKED, unique keys): a run longer than
its period may meet the next one, as before; the lease removes the M-fold repetition.

Tasks tied to one machine (draining this host's spool) or cheap and meant to be
everywhere (relaying the outbox's leftovers) are not leased.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from billing.core.clock import utcnow
from billing.core.db import insert_for
from billing.core.metrics import PERIODIC_RUNS
from billing.jobs.models import PeriodicLease
from billing.jobs.ticker import Periodic

_leases = PeriodicLease.__table__


def whoami() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(session: Session, name: str, every_s: float) -> bool:
    """Take this period of `name` for this process; False if another has it."""
    now = utcnow()
    due = now + timedelta(seconds=every_s)
    taken = session.execute(  # RETURNING: psycopg reports no rowcount for ON CONFLICT
        update(_leases)
        .where(_leases.c.name == name, _leases.c.due_at <= now)
        .values(due_at=due, runs=_leases.c.runs + 1, last_run_by=whoami(), last_run_at=now)
        .returning(_leases.c.runs)
    ).first()
    if taken is not None:
        return True
    first = session.execute(  # the task's first period ever: whoever inserts the row
        insert_for(session, _leases)
        .values(name=name, due_at=due, runs=1, last_run_by=whoami(), last_run_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(_leases.c.runs)
    ).first()
    return first is not None


def leased(sessions: sessionmaker[Session], task: Periodic) -> Periodic:
    """`task`, run only in the periods this process claims (its claim committed first).

    On SQLite (the local default: one process, no workers) there is no one to share with,
    and a claim would only be one more write waiting on the database's single lock."""
    bind = sessions.kw.get("bind")
    if bind is not None and bind.dialect.name != "postgresql":
        return task

    def run() -> None:
        with sessions.begin() as session:
            mine = claim(session, task.name, task.every_s)
        if mine:
            PERIODIC_RUNS.labels(task.name).inc()
            task.run()

    return Periodic(task.name, task.every_s, run)
