"""Posting to the ledger: the one function through which any balance changes.

`post_transaction` runs inside the caller's unit of work, so a callback's inbox
row, its ledger transaction and its outbox row commit together or not at all.
It writes with SQLAlchemy Core: this is the hottest path in Malipo.

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
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    and_,
    bindparam,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.errors import Conflict, IdempotencyKeyReused, InsufficientFunds, NotFound
from billing.ledger.models import Account, Entry, Transaction
from billing.ledger.postings import (
    AccountChange,
    Posting,
    allows_negative,
    plan,
    request_digest,
    validate,
)

INSUFFICIENT_FUNDS_SQLSTATE = "ML001"  # raised by ledger_post()
_LEDGER_POST = "SELECT ledger_post(" + ", ".join(["%s"] * 19) + ")"
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
        transaction_id = _post_in_postgresql(connection, header, postings)
    else:
        transaction_id = _post_step_by_step(connection, header, postings)
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


def _post_in_postgresql(
    connection: Connection, header: dict[str, Any], postings: Sequence[Posting]
) -> int | None:
    """One round trip: `ledger_post()` (migration 0002) runs the same steps in SQL."""
    try:
        return connection.exec_driver_sql(  # positional: skips SQL compilation on the hot path
            _LEDGER_POST, _ledger_post_args(header, postings)
        ).scalar()
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == INSUFFICIENT_FUNDS_SQLSTATE:
            raise _insufficient(error.orig.diag.message_detail) from None
        raise


def _ledger_post_args(
    header: dict[str, Any], postings: Sequence[Posting], numbered: Numbered | None = None
) -> tuple:
    planned = plan(postings)
    accounts, entries = planned.accounts, planned.entries
    return (
        header["tenant_id"],
        header["idempotency_key"],
        header["request_sha256"],
        header["kind"],
        header["description"],
        header["reference"],
        header["reverses_id"],
        header["created_at"],
        _texts([a.kind for a in accounts]),
        _texts([a.currency for a in accounts]),
        _numbers([a.delta for a in accounts]),
        _numbers([a.entries for a in accounts]),
        _booleans([allows_negative(a.kind) for a in accounts]),
        _numbers([e.account + 1 for e in entries]),  # SQL arrays count from 1
        _numbers([e.amount_minor for e in entries]),
        _numbers([e.balance_offset for e in entries]),
        _numbers([e.version_offset for e in entries]),
        numbered.transaction_id if numbered else None,
        _numbers_or_nulls(numbered.entry_ids) if numbered else None,
    )


# The arrays go as array literals (text the server casts to the parameter's type):
# psycopg's adaptation of a Python list (finding the element type, element by element)
# was a fifth of the writer's CPU per posting. Every element is quoted and escaped.
def _texts(values: Sequence[str]) -> str:
    quoted = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def _numbers(values: Sequence[int]) -> str:
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def _numbers_or_nulls(values: Sequence[int | None]) -> str:
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def _booleans(values: Sequence[bool]) -> str:
    return "{" + ",".join("t" if v else "f" for v in values) + "}"


@dataclass(frozen=True, slots=True)
class Numbered:
    """A transaction's ids taken ahead of posting it (`number_ahead`): its own, and its
    entries' in the order of its postings (None: numbered as it is posted)."""

    transaction_id: int
    entry_ids: tuple[int | None, ...]


def number_ahead(session: Session, count: int) -> list[tuple[int, int]]:
    """`count` pairs of a fresh transaction id and a fresh entry id, from the ledger's own
    sequences (PostgreSQL). Rows that name their debit can then be written before it is
    posted, and the debit's locks taken last (`Numbered`)."""
    if count <= 0:
        return []
    rows = session.execute(
        text(
            "SELECT nextval('ledger_transactions_id_seq'), nextval('ledger_entries_id_seq')"
            " FROM generate_series(1, :count)"
        ),
        {"count": count},
    )
    return [(transaction_id, entry_id) for transaction_id, entry_id in rows]


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
    ids = _pipelined(
        connection,
        [
            _ledger_post_args(h, r.postings, r.numbered)
            for h, r in zip(headers, requests, strict=True)
        ],
    )
    return [
        PostedTransaction(txn, h["tenant_id"], h["kind"], now, replayed=False)
        if txn is not None
        else _replay(session, h["tenant_id"], h["idempotency_key"], h["request_sha256"], None)
        for txn, h in zip(ids, headers, strict=True)
    ]


def _pipelined(connection: Connection, arg_lists: list[tuple]) -> list[int | None]:
    """`ledger_post()` once per argument list, sent without waiting for each answer."""
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(_LEDGER_POST, arg_lists, returning=True)
        ids = []
        while True:
            ids.append(cursor.fetchone()[0])
            if not cursor.nextset():
                return ids
    except psycopg.Error as error:
        if error.sqlstate == INSUFFICIENT_FUNDS_SQLSTATE:
            raise _insufficient(error.diag.message_detail) from None
        raise
    finally:
        cursor.close()


def _post_step_by_step(
    connection: Connection, header: dict[str, Any], postings: Sequence[Posting]
) -> int | None:
    statements = _statements(connection)
    inserted = connection.execute(statements.insert_transaction, header).first()
    if inserted is None:
        return None
    planned = plan(postings)
    finals = [_apply(connection, header["tenant_id"], change) for change in planned.accounts]
    connection.execute(
        statements.insert_entry,
        [
            {
                "transaction_id": inserted.id,
                "account_id": finals[e.account].id,
                "currency": planned.accounts[e.account].currency,
                "amount_minor": e.amount_minor,
                "balance_after_minor": finals[e.account].balance_minor + e.balance_offset,
                "account_version": finals[e.account].version + e.version_offset,
                "created_at": header["created_at"],
            }
            for e in planned.entries
        ],
    )
    return inserted.id


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


def _apply(connection: Connection, tenant_id: str, change: AccountChange) -> Row:
    """Add the change to its account under the row lock; create the account if new."""
    statements = _statements(connection)
    params = {
        "p_tenant": tenant_id,
        "p_kind": change.kind,
        "p_currency": change.currency,
        "p_delta": change.delta,
        "p_count": change.entries,
    }
    row = connection.execute(statements.apply_to_account, params).first()
    if row is None:
        # New, or created by a concurrent transaction after our UPDATE's snapshot:
        # the insert waits for that creator, then the UPDATE sees its row.
        _insert_account(connection, tenant_id, change.kind, change.currency)
        row = connection.execute(statements.apply_to_account, params).first()
    if row is None:
        raise _insufficient(change.kind)
    return row


def _insufficient(kind: str) -> InsufficientFunds:
    return InsufficientFunds(
        f"the {kind} account cannot go below zero",
        {"amount": ["exceeds the available balance"]},
    )


def ensure_account(session: Session, tenant_id: str, kind: str, currency: str) -> None:
    _insert_account(session.connection(), tenant_id, kind, currency)


def _insert_account(connection: Connection, tenant_id: str, kind: str, currency: str) -> None:
    connection.execute(
        _statements(connection).insert_account,
        {
            "tenant_id": tenant_id,
            "kind": kind,
            "currency": currency,
            "balance_minor": 0,
            "version": 0,
            "allow_negative": allows_negative(kind),
            "created_at": utcnow(),
        },
    )


@dataclass(frozen=True)
class _Statements:
    """The hot path's statements, built once per dialect so each call only binds values."""

    insert_transaction: Any
    insert_entry: Any
    insert_account: Any
    apply_to_account: Any


@cache
def _statements_for(dialect: str) -> _Statements:
    insert_on = postgresql.insert if dialect == "postgresql" else sqlite.insert
    account = and_(
        _accounts.c.tenant_id == bindparam("p_tenant"),
        _accounts.c.kind == bindparam("p_kind"),
        _accounts.c.currency == bindparam("p_currency"),
    )
    delta = bindparam("p_delta", type_=BigInteger)
    return _Statements(
        insert_transaction=insert_on(_transactions)
        .on_conflict_do_nothing()
        .returning(_transactions.c.id),
        insert_entry=insert(_entries),
        insert_account=insert_on(_accounts).on_conflict_do_nothing(),
        apply_to_account=update(_accounts)
        .where(account, or_(_accounts.c.allow_negative, _accounts.c.balance_minor + delta >= 0))
        .values(
            balance_minor=_accounts.c.balance_minor + delta,
            version=_accounts.c.version + bindparam("p_count", type_=BigInteger),
        )
        .returning(_accounts.c.id, _accounts.c.balance_minor, _accounts.c.version),
    )


def _statements(connection: Connection) -> _Statements:
    return _statements_for(connection.dialect.name)


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    balance_minor: int
    version: int


def account_balance(session: Session, tenant_id: str, kind: str, currency: str) -> Balance:
    row = session.execute(
        select(_accounts.c.balance_minor, _accounts.c.version).where(
            _accounts.c.tenant_id == tenant_id,
            _accounts.c.kind == kind,
            _accounts.c.currency == currency,
        )
    ).first()
    if row is None:
        return Balance(currency, 0, 0)
    return Balance(currency, row.balance_minor, row.version)


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    transaction_id: int
    kind: str
    description: str
    reference: str | None
    amount_minor: int
    balance_after_minor: int
    account_version: int
    currency: str
    created_at: datetime


def statement(
    session: Session,
    tenant_id: str,
    kind: str,
    currency: str,
    *,
    before_version: int | None,
    limit: int,
) -> list[StatementLine]:
    """An account's entries, newest first, paged by account version (gapless, indexed)."""
    query = (
        select(
            _entries.c.id.label("entry_id"),
            _entries.c.transaction_id,
            _transactions.c.kind,
            _transactions.c.description,
            _transactions.c.reference,
            _entries.c.amount_minor,
            _entries.c.balance_after_minor,
            _entries.c.account_version,
            _entries.c.currency,
            _entries.c.created_at,
        )
        .join(_accounts, _accounts.c.id == _entries.c.account_id)
        .join(_transactions, _transactions.c.id == _entries.c.transaction_id)
        .where(
            _accounts.c.tenant_id == tenant_id,
            _accounts.c.kind == kind,
            _accounts.c.currency == currency,
        )
        .order_by(_entries.c.account_version.desc())
        .limit(limit)
    )
    if before_version is not None:
        query = query.where(_entries.c.account_version < before_version)
    return [StatementLine(**row._mapping) for row in session.execute(query)]
