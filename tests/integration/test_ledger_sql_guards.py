"""The database itself refuses what would break the ledger, whatever the caller."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from billing.ledger.postings import WALLET
from tests.factories import top_up

pytestmark = pytest.mark.integration


@pytest.fixture
def posted(sessions, tenant):
    with sessions.begin() as session:
        return top_up(session, tenant.tenant_id, 5_000)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount_minor = amount_minor * 2 WHERE transaction_id = :txn",
        "DELETE FROM ledger_entries WHERE transaction_id = :txn",
        "UPDATE ledger_transactions SET description = 'edited' WHERE id = :txn",
        "DELETE FROM ledger_transactions WHERE id = :txn",
        "TRUNCATE ledger_entries, ledger_transactions CASCADE",
    ],
    ids=["update-entry", "delete-entry", "update-transaction", "delete-transaction", "truncate"],
)
def test_posted_rows_cannot_be_changed(sessions, posted, statement):
    # The service's role may not even TRUNCATE (it owns nothing); the trigger refuses the rest.
    refusal = "permission denied" if statement.startswith("TRUNCATE") else "append-only"
    with pytest.raises(DBAPIError, match=refusal), sessions.begin() as session:
        session.execute(text(statement), {"txn": posted.id})


def test_even_the_owner_cannot_truncate_the_ledger(owner_database_url, posted):
    from billing.core.db import make_engine

    engine = make_engine(owner_database_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE ledger_entries, ledger_transactions CASCADE"))
    finally:
        engine.dispose()


def _raw_transaction(session, tenant_id: str, key: str) -> int:
    return session.execute(
        text(
            "INSERT INTO ledger_transactions"
            " (tenant_id, idempotency_key, request_sha256, kind, description, created_at)"
            " VALUES (:t, :k, 'x', 'raw', '', now()) RETURNING id"
        ),
        {"t": tenant_id, "k": key},
    ).scalar_one()


def _raw_entry(session, txn: int, account_id: int, amount: int, version: int) -> None:
    session.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_minor,"
            " balance_after_minor, account_version, created_at)"
            " VALUES (:txn, :acc, 'TZS', :amount, 0, :version, now())"
        ),
        {"txn": txn, "acc": account_id, "amount": amount, "version": version},
    )


def _account_ids(session, tenant_id: str) -> list[int]:
    return list(
        session.execute(
            text("SELECT id FROM ledger_accounts WHERE tenant_id = :t ORDER BY id"),
            {"t": tenant_id},
        ).scalars()
    )


def test_an_unbalanced_transaction_fails_at_commit(sessions, tenant, posted):
    session = sessions()
    accounts = _account_ids(session, tenant.tenant_id)
    txn = _raw_transaction(session, tenant.tenant_id, "raw-unbalanced")
    _raw_entry(session, txn, accounts[0], 100, 1000)
    _raw_entry(session, txn, accounts[1], -99, 1000)
    with pytest.raises(IntegrityError, match="unbalanced"):
        session.commit()
    session.close()


def test_a_transaction_without_entries_fails_at_commit(sessions, tenant):
    session = sessions()
    _raw_transaction(session, tenant.tenant_id, "raw-empty")
    with pytest.raises(IntegrityError, match="needs at least two"):
        session.commit()
    session.close()


def test_an_entry_cannot_be_appended_to_a_committed_transaction(sessions, tenant, posted):
    session = sessions()
    accounts = _account_ids(session, tenant.tenant_id)
    _raw_entry(session, posted.id, accounts[0], 1, 1001)
    with pytest.raises(IntegrityError, match="unbalanced"):
        session.commit()
    session.close()


def test_a_wallet_balance_cannot_be_set_below_zero(sessions, tenant, posted):
    with pytest.raises(IntegrityError, match="no_overdraft"), sessions.begin() as session:
        session.execute(
            text(
                "UPDATE ledger_accounts SET balance_minor = -1"
                " WHERE tenant_id = :t AND kind = :kind"
            ),
            {"t": tenant.tenant_id, "kind": WALLET},
        )
