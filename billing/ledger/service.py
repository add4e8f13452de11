"""Posting to the ledger: the one function through which any balance changes.

`post_transaction` runs inside the caller's unit of work, so a callback's inbox
row, its ledger transaction and its outbox row commit together or not at all.
This is the hottest path in Malipo: on PostgreSQL a posting is one call of the
`ledger_post()` function (`billing.ledger.ledger_post`), a batch of them one round trip;
elsewhere the same steps run statement by statement (`billing.ledger.step_by_step`).
Reads (balances, statements) are in `billing.ledger.balances`.

Concurrency: account rows are updated in one fixed order (kind, then currency,
within the transaction's tenant), so two transactions touching the same accounts
queue on row locks instead of deadlocking. Idempotency: the transaction row is
inserted first with ON CONFLICT DO NOTHING; a concurrent twin blocks on the
unique index until the first commits, then finds it and replays it.

On any error the caller's transaction must be rolled back (wrap the call in
`session.begin_nested()` to carry on after one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.errors import Conflict, IdempotencyKeyReused, NotFound
from billing.ledger import ledger_post, step_by_step
from billing.ledger.ledger_post import Numbered
from billing.ledger.models import Account, Entry, Transaction
from billing.ledger.postings import Posting, request_digest, validate

_accounts = Account.__table__
_transactions = Transaction.__table__
_entries = Entry.__table__


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int
    tenant_id: str
    kind: str
    created_at: datetime
    replayed: bool


def post_transaction(
    session: Session,
    *,
    tenant_id: str,
    idempotency_key: str,
    kind: str,
    postings: Sequence[Posting],
    description: str = "",
    reference: str | None = None,
    reverses_id: int | None = None,
) -> PostedTransaction:
    """Post balanced `postings` for one tenant, exactly once per `idempotency_key`."""
    now = utcnow()
    header = _header(
        tenant_id, idempotency_key, kind, postings, description, reference, reverses_id, now
    )
    digest = header["request_sha256"]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        transaction_id = ledger_post.post_one(connection, header, postings)
    else:
        transaction_id = step_by_step.post(connection, header, postings)
    if transaction_id is None:
        return _replay(session, tenant_id, idempotency_key, digest, reverses_id)
    return PostedTransaction(transaction_id, tenant_id, kind, now, replayed=False)


def _header(
    tenant_id: str,
    idempotency_key: str,
    kind: str,
    postings: Sequence[Posting],
    description: str,
    reference: str | None,
    reverses_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    """The validated transaction row to insert, with its request fingerprint."""
    validate(postings)
    return {
        "tenant_id": tenant_id,
        "idempotency_key": idempotency_key,
        "request_sha256": request_digest(kind, postings, description, reference, reverses_id),
        "kind": kind,
        "description": description,
        "reference": reference,
        "reverses_id": reverses_id,
        "created_at": now,
    }


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """One transaction of a `post_transactions` batch: `post_transaction`'s arguments,
    and on PostgreSQL, optionally, its ids taken ahead."""

    tenant_id: str
    idempotency_key: str
    kind: str
    postings: Sequence[Posting]
    description: str = ""
    reference: str | None = None
    numbered: Numbered | None = None


def post_transactions(
    session: Session, requests: Sequence[TransactionRequest]
) -> list[PostedTransaction]:
    """Post many transactions in the caller's unit of work, in the order given.

    The same rules and locks as `post_transaction`, one call each; on PostgreSQL the
    `ledger_post()` calls travel pipelined, so a batch costs one round trip, not one per
    transaction. Give the requests in a fixed order (tenant, then key) so that two
    batches lock accounts in the same order. Any error aborts the whole batch.
    """
    connection = session.connection()
    numbered = any(r.numbered is not None for r in requests)
    if numbered and connection.dialect.name != "postgresql":
        raise ValueError("ids are numbered ahead only on PostgreSQL")
    if connection.dialect.name != "postgresql" or (len(requests) < 2 and not numbered):
        return [
            post_transaction(
                session,
                tenant_id=r.tenant_id,
                idempotency_key=r.idempotency_key,
                kind=r.kind,
                postings=r.postings,
                description=r.description,
                reference=r.reference,
            )
            for r in requests
        ]
    now = utcnow()
    headers = [
        _header(r.tenant_id, r.idempotency_key, r.kind, r.postings, r.description, r.reference,
                None, now)
        for r in requests
    ]  # fmt: skip
    ids = ledger_post.post_pipelined(
        connection,
        [
            ledger_post.arguments(h, r.postings, r.numbered)
            for h, r in zip(headers, requests, strict=True)
        ],
    )
    return [
        PostedTransaction(txn, h["tenant_id"], h["kind"], now, replayed=False)
        if txn is not None
        else _replay(session, h["tenant_id"], h["idempotency_key"], h["request_sha256"], None)
        for txn, h in zip(ids, headers, strict=True)
    ]


def reverse_transaction(
    session: Session, *, tenant_id: str, transaction_id: int, idempotency_key: str, reason: str
) -> PostedTransaction:
    """Undo a transaction with its mirror image; the original stays as it was."""
    original = session.execute(
        select(_transactions.c.id, _transactions.c.reverses_id).where(
            _transactions.c.id == transaction_id, _transactions.c.tenant_id == tenant_id
        )
    ).first()
    if original is None:
        raise NotFound(f"ledger transaction {transaction_id} not found")
    if original.reverses_id is not None:
        raise Conflict("a reversal is not reversed: post a new transaction instead")
    rows = session.execute(
        select(_accounts.c.kind, _entries.c.currency, _entries.c.amount_minor)
        .join(_accounts, _accounts.c.id == _entries.c.account_id)
        .where(_entries.c.transaction_id == transaction_id)
        .order_by(_entries.c.id)
    )
    mirror = [Posting(row.kind, row.currency, -row.amount_minor) for row in rows]
    return post_transaction(
        session,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        kind="reversal",
        postings=mirror,
        description=reason,
        reverses_id=transaction_id,
    )


def _replay(
    session: Session, tenant_id: str, key: str, digest: str, reverses_id: int | None
) -> PostedTransaction:
    existing = session.execute(
        select(_transactions).where(
            _transactions.c.tenant_id == tenant_id, _transactions.c.idempotency_key == key
        )
    ).first()
    if existing is None:
        if reverses_id is not None:
            raise Conflict(f"ledger transaction {reverses_id} is already reversed")
        raise Conflict("the ledger transaction conflicts with another")  # pragma: no cover
    if existing.request_sha256 != digest:
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was used for a different ledger transaction",
            {"idempotency_key": ["already used with different content"]},
        )
    return PostedTransaction(existing.id, tenant_id, existing.kind, existing.created_at, True)


def ensure_account(session: Session, tenant_id: str, kind: str, currency: str) -> None:
    """Open the account at zero, unless it exists."""
    step_by_step.insert_account(session.connection(), tenant_id, kind, currency)
