"""Posting statement by statement, with SQLAlchemy Core: the path for databases without
`ledger_post()` (SQLite, the default for a first run). The same steps as the function:
the transaction row first (ON CONFLICT DO NOTHING), then each account under its row
lock, in the plan's order, then the entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Connection, Row, and_, bindparam, insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from billing.core.clock import utcnow
from billing.ledger.models import Account, Entry, Transaction
from billing.ledger.postings import (
    AccountChange,
    Posting,
    allows_negative,
    insufficient_funds,
    plan,
)

_accounts = Account.__table__
_transactions = Transaction.__table__
_entries = Entry.__table__


def post(connection: Connection, header: dict[str, Any], postings: Sequence[Posting]) -> int | None:
    """Post a transaction row and its postings: its id, or None if the key was posted."""
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
        insert_account(connection, tenant_id, change.kind, change.currency)
        row = connection.execute(statements.apply_to_account, params).first()
    if row is None:
        raise insufficient_funds(change.kind)
    return row


def insert_account(connection: Connection, tenant_id: str, kind: str, currency: str) -> None:
    """The account, at zero, unless it exists."""
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
    """The statements, built once per dialect so each call only binds values."""

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
