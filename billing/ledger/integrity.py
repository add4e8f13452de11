"""The ledger checks itself: the invariants of DESIGN.md, as queries.

Every balance equals the sum of its entries, account versions run 1..n with no
gap, every transaction sums to zero per currency. PostgreSQL also enforces the
last in SQL at commit; these queries prove all three over the stored data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger.models import Account, Entry, Transaction


@dataclass(frozen=True, slots=True)
class Discrepancy:
    rule: str
    subject: str
    detail: str


def find_discrepancies(session: Session, tenant_id: str | None = None) -> list[Discrepancy]:
    return [*_balances_off(session, tenant_id), *_unbalanced(session, tenant_id)]


def _balances_off(session: Session, tenant_id: str | None) -> list[Discrepancy]:
    sums = (
        select(
            Entry.account_id,
            func.sum(Entry.amount_minor).label("total"),
            func.count().label("entries"),
            func.max(Entry.account_version).label("last_version"),
        )
        .group_by(Entry.account_id)
        .subquery()
    )
    query = select(
        Account.id,
        Account.balance_minor,
        Account.version,
        func.coalesce(sums.c.total, 0).label("total"),
        func.coalesce(sums.c.entries, 0).label("entries"),
        func.coalesce(sums.c.last_version, 0).label("last_version"),
    ).outerjoin(sums, sums.c.account_id == Account.id)
    if tenant_id is not None:
        query = query.where(Account.tenant_id == tenant_id)
    found = []
    for row in session.execute(query):
        if row.balance_minor != row.total:
            found.append(
                Discrepancy(
                    "balance_equals_entries",
                    f"account {row.id}",
                    f"balance {row.balance_minor} but entries sum to {row.total}",
                )
            )
        if not row.version == row.entries == row.last_version:
            found.append(
                Discrepancy(
                    "versions_gapless",
                    f"account {row.id}",
                    f"version {row.version}, {row.entries} entries, "
                    f"last entry version {row.last_version}",
                )
            )
    return found


def _unbalanced(session: Session, tenant_id: str | None) -> list[Discrepancy]:
    query = (
        select(Entry.transaction_id, Entry.currency, func.sum(Entry.amount_minor).label("total"))
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .group_by(Entry.transaction_id, Entry.currency)
        .having(func.sum(Entry.amount_minor) != 0)
    )
    if tenant_id is not None:
        query = query.where(Transaction.tenant_id == tenant_id)
    return [
        Discrepancy(
            "transaction_balanced",
            f"transaction {row.transaction_id}",
            f"{row.currency} entries sum to {row.total}",
        )
        for row in session.execute(query)
    ]
