"""Sealing audit events into their hash chains, at commit.

`record()` only queues an event on the session; just before the session commits, the
queued events are written, each chain's head row locked FOR UPDATE first (chains in
name order). Taking those locks last, with nothing else waited on afterwards, means
two writers of one chain queue on its head instead of deadlocking on rows they already
hold; the head lock is held to COMMIT, so ids and links along a chain follow commit
order. A rolled-back transaction (or savepoint) takes its queued events with it.

The hash of an event is SHA-256 over its canonical JSON (`canonical()`), which names
the previous event's hash: change, remove or reorder one and the chain breaks there.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session, SessionTransaction

from billing.audit.models import AuditChainHead, AuditEvent
from billing.core.db import insert_for

_PENDING = "audit_pending"
_events = AuditEvent.__table__
_heads = AuditChainHead.__table__
HASHED = (
    "chain",
    "seq",
    "prev_hash",
    "at",
    "actor",
    "role",
    "action",
    "subject_type",
    "subject_id",
    "tenant_id",
    "detail",
    "request_id",
    "client_address",
)


def chain_of(tenant_id: str | None) -> str:
    return f"tenant:{tenant_id}" if tenant_id else "platform"


def plain_json(value: Any) -> Any:
    """What the database gives back for `value` stored as JSON (dates and decimals as text)."""
    return json.loads(json.dumps(value, default=str))


def canonical(values: dict[str, Any]) -> bytes:
    at = values["at"]
    if isinstance(at, datetime):
        at = at.astimezone(UTC).isoformat(timespec="microseconds")
    fields = {name: values.get(name) for name in HASHED} | {"at": at}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


def queue(session: Session, values: dict[str, Any]) -> None:
    """Hold `values` (an audit row without its links) until this session commits."""
    if session.get_transaction() is None:
        session.connection()  # begin now: the event belongs to this transaction
    owner = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((owner, values))


@event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the events wait for the real COMMIT
    pending = session.info.pop(_PENDING, None)
    if pending:
        write(session, [values for _owner, values in pending])


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending and previous.parent is None:  # the whole transaction: all of them
        session.info.pop(_PENDING, None)
    elif pending:
        session.info[_PENDING] = [
            (owner, values) for owner, values in pending if not _within(owner, previous)
        ]


def _within(owner: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while owner is not None:
        if owner is ended:
            return True
        owner = owner.parent
    return False


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append `rows` to their chains: lock each head, link, insert, move the head."""
    by_chain: dict[str, list[dict[str, Any]]] = {}
    for values in rows:
        by_chain.setdefault(values["chain"], []).append(values)
    for chain in sorted(by_chain):
        # One round trip: the head row made if new, locked either way (ON CONFLICT DO
        # UPDATE waits for a concurrent holder, then reads the committed head).
        new_head = insert_for(session, _heads).values(
            chain=chain, last_id=None, last_hash=None, length=0
        )
        head = session.execute(
            new_head.on_conflict_do_update(
                index_elements=[_heads.c.chain], set_={"chain": new_head.excluded.chain}
            ).returning(_heads.c.last_hash, _heads.c.length)
        ).one()
        prev_hash, length = head.last_hash, head.length
        last_id = None
        for values in by_chain[chain]:
            length += 1
            values.update(seq=length, prev_hash=prev_hash)
            values["hash"] = prev_hash = link_hash(values)
            last_id = session.execute(
                insert(_events).values(values).returning(_events.c.id)
            ).scalar_one()
        session.execute(
            update(_heads)
            .where(_heads.c.chain == chain)
            .values(last_id=last_id, last_hash=prev_hash, length=length)
        )
