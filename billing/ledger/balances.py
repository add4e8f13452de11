"""Reading the ledger: an account's balance, and its statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger.models import Account, Entry, Transaction

_accounts = Account.__table__
_transactions = Transaction.__table__
_entries = Entry.__table__


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
