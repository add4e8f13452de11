"""Writing to the outbox, and relaying what was written once it has committed."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from billing.core.clock import utcnow
from billing.core.db import insert_for, is_postgresql
from billing.jobs.models import OutboxMessage
from billing.jobs.queues import JobQueue
from billing.jobs.registry import batch_size, lookup

log = logging.getLogger(__name__)
_outbox = OutboxMessage.__table__
SESSION_KEY = "malipo.outbox_ids"


def defer(
    session: Session,
    job: str,
    *args: Any,
    queue: str = "default",
    dedupe_key: str | None = None,
) -> int | None:
    """Ask for `job(*args)` to run once this session's transaction commits.

    With a `dedupe_key`, a second request for the same work is dropped (returns None).
    """
    lookup(job)  # fail now, in the caller's transaction, on a misspelt job
    stmt = insert_for(session, _outbox).values(
        job=job,
        args=list(args),
        queue=queue,
        dedupe_key=dedupe_key,
        created_at=utcnow(),
        attempts=0,
    )
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing()
    row = session.execute(stmt.returning(_outbox.c.id)).first()
    if row is None:
        return None
    session.info.setdefault(SESSION_KEY, []).append(row.id)
    return row.id


def defer_many(
    session: Session,
    job: str,
    arg_lists: list[list[Any]],
    *,
    queue: str = "default",
    dedupe_keys: list[str] | None = None,
) -> list[int]:
    """`defer` for many argument lists in one statement; returns the ids written (a
    deduplicated request writes none)."""
    lookup(job)
    if not arg_lists:
        return []
    now = utcnow()
    keys = dedupe_keys or [None] * len(arg_lists)
    rows = [
        {
            "job": job,
            "args": list(args),
            "queue": queue,
            "dedupe_key": key,
            "created_at": now,
            "attempts": 0,
        }
        for args, key in zip(arg_lists, keys, strict=True)
    ]
    stmt = insert_for(session, _outbox)
    if dedupe_keys is not None:
        stmt = stmt.on_conflict_do_nothing()
    # Rows as executemany parameters, not one VALUES list: the statement compiles once.
    ids = list(session.execute(stmt.returning(_outbox.c.id), rows).scalars())
    session.info.setdefault(SESSION_KEY, []).extend(ids)
    return ids


def relay(
    factory: sessionmaker[Session], queue: JobQueue, ids: list[int] | None = None, limit: int = 500
) -> int:
    """Hand committed, unrelayed outbox rows to the queue; return how many.

    Enqueue happens before the row is marked, inside the claiming transaction: a
    crash in between enqueues twice, which idempotent jobs absorb, and never loses one.
    """
    with factory() as session, session.begin():
        query = (
            select(_outbox.c.id, _outbox.c.job, _outbox.c.args, _outbox.c.queue)
            .where(_outbox.c.relayed_at.is_(None))
            .order_by(_outbox.c.id)
            .limit(limit)
        )
        if ids is not None:
            query = query.where(_outbox.c.id.in_(ids))
        if is_postgresql(session):
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows:
            return 0
        if queue.runs_inline:
            # Running jobs inside this transaction would hold SQLite's write lock.
            pending = rows
        else:
            _enqueue(queue, rows)
            _mark_relayed(session, [row.id for row in rows])
            return len(rows)
    done = 0
    for row in pending:
        try:
            queue.enqueue(row.id, row.job, row.args, row.queue)
        except Exception:
            # Left unrelayed: the next relay runs it again.
            log.exception("inline job %s (outbox %s) failed", row.job, row.id)
            continue
        with factory() as session, session.begin():
            _mark_relayed(session, [row.id])
        done += 1
    return done


def _enqueue(queue: JobQueue, rows: list) -> None:
    """Each row as its own job, or rows of a batchable job together, in outbox order."""
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row.job, row.queue), []).append(row)
    for (job, queue_name), members in groups.items():
        size = batch_size(job)
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            if len(chunk) == 1:
                queue.enqueue(chunk[0].id, job, chunk[0].args, queue_name)
            else:
                ids, arg_lists = [row.id for row in chunk], [row.args for row in chunk]
                queue.enqueue_batch(ids, job, arg_lists, queue_name)


def _mark_relayed(session: Session, ids: list[int]) -> None:
    session.execute(
        update(_outbox)
        .where(_outbox.c.id.in_(ids))
        .values(relayed_at=utcnow(), attempts=_outbox.c.attempts + 1)
    )


def take_written_ids(session: Session) -> list[int]:
    """The outbox ids this session wrote, cleared so they are relayed once."""
    return session.info.pop(SESSION_KEY, [])
