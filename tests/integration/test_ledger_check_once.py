"""The balance check runs once per transaction (migration 0033): an entry `ledger_post()`
inserts queues no check of its own. Nothing else may skip its entry's check, and the one
query the check runs first must not pass what the grouped check refuses."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from billing.core.db import make_engine
from billing.core.money import Currency
from billing.ledger.ledger_post import booleans, numbers, texts
from tests.factories import top_up

pytestmark = pytest.mark.integration


def _raw_entry(connection, txn: int, account_id: int, amount: int, currency: str = "TZS") -> None:
    version = connection.execute(
        text("SELECT coalesce(max(account_version), 0) + 1000 FROM ledger_entries"
             " WHERE account_id = :acc"),
        {"acc": account_id},
    ).scalar_one()  # fmt: skip
    connection.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_minor,"
            " balance_after_minor, account_version, created_at)"
            " VALUES (:txn, :acc, :currency, :amount, 0, :version, now())"
        ),
        {"txn": txn, "acc": account_id, "currency": currency, "amount": amount, "version": version},
    )


def _wallet(connection, tenant_id: str) -> int:
    return connection.execute(
        text("SELECT id FROM ledger_accounts WHERE tenant_id = :t AND kind = 'wallet'"),
        {"t": tenant_id},
    ).scalar_one()


def test_an_entry_added_after_ledger_post_in_its_own_transaction_is_checked(sessions, tenant):
    session = sessions()
    posted = top_up(session, tenant.tenant_id, 5_000)
    _raw_entry(session, posted.id, _wallet(session, tenant.tenant_id), 1)
    with pytest.raises(IntegrityError, match="unbalanced"):
        session.commit()
    session.close()


def test_the_service_cannot_skip_the_check_by_saying_it_is_ledger_post(sessions, tenant):
    with sessions.begin() as session:
        posted = top_up(session, tenant.tenant_id, 5_000)
    session = sessions()
    session.execute(text("SELECT set_config('malipo.ledger_post', 'on', true)"))
    _raw_entry(session, posted.id, _wallet(session, tenant.tenant_id), 1)
    with pytest.raises(IntegrityError, match="unbalanced"):
        session.commit()
    session.close()


def test_the_owner_s_own_entries_are_checked(sessions, tenant, owner_database_url):
    # ledger_post() runs as the owner; the owner's statements outside it are checked.
    with sessions.begin() as session:
        posted = top_up(session, tenant.tenant_id, 5_000)
    engine = make_engine(owner_database_url)
    try:
        with pytest.raises(IntegrityError, match="unbalanced"), engine.begin() as connection:
            connection.execute(text("SELECT set_config('malipo.scope', 'system', true)"))
            _raw_entry(connection, posted.id, _wallet(connection, tenant.tenant_id), 1)
    finally:
        engine.dispose()


def test_a_check_fired_before_the_entries_refuses_the_posting(sessions, tenant):
    # SET CONSTRAINTS ... IMMEDIATE fires the transaction's check right after its row's
    # INSERT, inside ledger_post(): it sees no entry yet and refuses.
    with pytest.raises(IntegrityError, match="needs at least two"), sessions.begin() as session:
        session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        top_up(session, tenant.tenant_id, 5_000)


@pytest.mark.parametrize(
    ("entries", "refused"),
    [
        ([("TZS", 100), ("USD", -100)], True),  # sums to zero across currencies only
        ([("TZS", 100), ("TZS", -100), ("USD", 5)], True),
        ([("TZS", 100), ("TZS", -100), ("USD", 5), ("USD", -5)], False),
    ],
    ids=["zero-across-currencies", "one-currency-off", "each-currency-balanced"],
)
def test_a_mix_of_currencies_is_checked_per_currency(sessions, tenant, entries, refused):
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 5_000)
        top_up(session, tenant.tenant_id, 5_000, currency=Currency.USD)
    session = sessions()
    accounts = dict(
        session.execute(
            text("SELECT currency, id FROM ledger_accounts WHERE tenant_id = :t"
                 " AND kind = 'wallet'"),
            {"t": tenant.tenant_id},
        ).all()
    )  # fmt: skip
    txn = session.execute(
        text(
            "INSERT INTO ledger_transactions (tenant_id, idempotency_key, request_sha256, kind,"
            " description, created_at) VALUES (:t, 'raw-mix', 'x', 'raw', '', now()) RETURNING id"
        ),
        {"t": tenant.tenant_id},
    ).scalar_one()
    for currency, amount in entries:
        _raw_entry(session, txn, accounts[currency], amount, currency)
    # The deferred checks fired now, not at COMMIT: nothing planted stays in the ledger.
    if refused:
        with pytest.raises(IntegrityError, match="unbalanced"):
            session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    else:
        session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    session.rollback()
    session.close()


@pytest.mark.parametrize(
    ("cast", "values"),
    [
        ("text[]", ["wallet", "clearing:mpesa", 'a "quoted", {braced} kind', "back\\slash\\", ""]),
        ("text[]", ["NULL", " padded ", "ünïcødé", "semi;colon", "'single'"]),
        ("text[]", [Currency.TZS, Currency.USD]),
        ("bigint[]", [0, -1, 10**15, -(2**63), 2**63 - 1]),
        ("integer[]", [1, 2, -3]),
        ("boolean[]", [True, False]),
    ],
    ids=["kinds", "awkward-text", "currencies", "bigints", "integers", "booleans"],
)
def test_ledger_post_s_array_literals_are_what_psycopg_would_send(session, cast, values):
    literal = {"text[]": texts, "boolean[]": booleans}.get(cast, numbers)(values)
    as_list = [str(v) for v in values] if cast == "text[]" else values
    same, parsed = session.execute(
        text(f"SELECT CAST(:literal AS {cast}) IS NOT DISTINCT FROM CAST(:list AS {cast}),"
             f" CAST(:literal AS {cast})"),
        {"literal": literal, "list": as_list},
    ).one()  # fmt: skip
    assert same, (literal, parsed)
    assert parsed == as_list
