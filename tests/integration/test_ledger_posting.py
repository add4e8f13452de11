"""Posting, replaying, reversing and reading the ledger on PostgreSQL."""

from __future__ import annotations

import pytest

from billing.core.errors import Conflict, IdempotencyKeyReused, InsufficientFunds, InvalidInput
from billing.core.money import Currency
from billing.ledger.balances import account_balance, statement
from billing.ledger.integrity import find_discrepancies
from billing.ledger.postings import WALLET, Posting, clearing
from billing.ledger.service import (
    TransactionRequest,
    post_transaction,
    post_transactions,
    reverse_transaction,
)
from tests.factories import charge, top_up

pytestmark = pytest.mark.integration


def wallet(session, tenant_id: str) -> int:
    return account_balance(session, tenant_id, WALLET, "TZS").balance_minor


def test_a_top_up_credits_the_wallet_and_debits_clearing(sessions, tenant):
    with sessions.begin() as session:
        posted = top_up(session, tenant.tenant_id, 500_000)
    with sessions() as session:
        assert wallet(session, tenant.tenant_id) == 500_000
        clearing_balance = account_balance(session, tenant.tenant_id, clearing("mpesa"), "TZS")
        assert clearing_balance.balance_minor == -500_000
        assert not posted.replayed
        assert find_discrepancies(session, tenant.tenant_id) == []


def test_the_same_key_and_content_replays_the_first_transaction(sessions, tenant):
    with sessions.begin() as session:
        first = top_up(session, tenant.tenant_id, 10_000, key="mpesa:ABC123")
    with sessions.begin() as session:
        again = top_up(session, tenant.tenant_id, 10_000, key="mpesa:ABC123")
    assert again.replayed and again.id == first.id
    with sessions() as session:
        assert wallet(session, tenant.tenant_id) == 10_000


def test_the_same_key_with_other_content_is_refused(sessions, tenant):
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 10_000, key="mpesa:XYZ")
    with pytest.raises(IdempotencyKeyReused), sessions.begin() as session:
        top_up(session, tenant.tenant_id, 99_999, key="mpesa:XYZ")
    with sessions() as session:
        assert wallet(session, tenant.tenant_id) == 10_000


def test_keys_are_scoped_per_tenant(sessions, make_tenant):
    first, second = make_tenant(), make_tenant()
    with sessions.begin() as session:
        a = top_up(session, first.tenant_id, 1_000, key="shared-key")
        b = top_up(session, second.tenant_id, 2_000, key="shared-key")
    assert a.id != b.id and not b.replayed


def test_a_wallet_is_never_overdrawn(sessions, tenant):
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 1_000)
    with pytest.raises(InsufficientFunds) as refused, sessions.begin() as session:
        charge(session, tenant.tenant_id, 1_001)
    assert refused.value.errors == {"amount": ["exceeds the available balance"]}
    with sessions.begin() as session:
        charge(session, tenant.tenant_id, 1_000)
    with sessions() as session:
        assert wallet(session, tenant.tenant_id) == 0


def test_a_new_wallet_cannot_start_negative(sessions, make_tenant):
    tenant = make_tenant(currency=Currency.USD)
    with pytest.raises(InsufficientFunds), sessions.begin() as session:
        charge(session, tenant.tenant_id, 1, currency=Currency.USD)


@pytest.mark.parametrize(
    "postings",
    [
        [Posting(WALLET, Currency.TZS, 100)],
        [Posting(WALLET, Currency.TZS, 100), Posting(clearing("mpesa"), Currency.TZS, -99)],
        [Posting(WALLET, Currency.TZS, 100), Posting(clearing("mpesa"), Currency.USD, -100)],
        [Posting(WALLET, Currency.TZS, 0), Posting(clearing("mpesa"), Currency.TZS, 0)],
    ],
    ids=["one-posting", "unbalanced", "mixed-currencies", "zero-amounts"],
)
def test_unbalanced_requests_are_refused_before_touching_a_row(sessions, tenant, postings):
    with pytest.raises(InvalidInput), sessions.begin() as session:
        post_transaction(
            session, tenant_id=tenant.tenant_id, idempotency_key="k", kind="x", postings=postings
        )


def test_a_reversal_mirrors_the_original_once(sessions, tenant):
    with sessions.begin() as session:
        original = top_up(session, tenant.tenant_id, 7_500)
    with sessions.begin() as session:
        reversal = reverse_transaction(
            session,
            tenant_id=tenant.tenant_id,
            transaction_id=original.id,
            idempotency_key=f"reverse:{original.id}",
            reason="duplicate credit",
        )
    with sessions.begin() as session:  # a retried reversal replays
        again = reverse_transaction(
            session,
            tenant_id=tenant.tenant_id,
            transaction_id=original.id,
            idempotency_key=f"reverse:{original.id}",
            reason="duplicate credit",
        )
    assert again.replayed and again.id == reversal.id
    with pytest.raises(Conflict), sessions.begin() as session:  # another key: already reversed
        reverse_transaction(
            session,
            tenant_id=tenant.tenant_id,
            transaction_id=original.id,
            idempotency_key="another-key",
            reason="again",
        )
    with pytest.raises(Conflict), sessions.begin() as session:
        reverse_transaction(
            session,
            tenant_id=tenant.tenant_id,
            transaction_id=reversal.id,
            idempotency_key="reverse-the-reversal",
            reason="no",
        )
    with sessions() as session:
        assert wallet(session, tenant.tenant_id) == 0
        assert find_discrepancies(session, tenant.tenant_id) == []


def test_a_tenant_cannot_reverse_another_tenants_transaction(sessions, make_tenant):
    owner, other = make_tenant(), make_tenant()
    with sessions.begin() as session:
        original = top_up(session, owner.tenant_id, 100)
    with pytest.raises(Exception, match="not found"), sessions.begin() as session:
        reverse_transaction(
            session,
            tenant_id=other.tenant_id,
            transaction_id=original.id,
            idempotency_key="steal",
            reason="x",
        )


def test_the_statement_pages_newest_first_with_running_balances(sessions, tenant):
    with sessions.begin() as session:
        for amount in (100, 200, 300, 400, 500):
            top_up(session, tenant.tenant_id, amount)
        charge(session, tenant.tenant_id, 50)
    with sessions() as session:
        first = statement(session, tenant.tenant_id, WALLET, "TZS", before_version=None, limit=4)
        rest = statement(
            session,
            tenant.tenant_id,
            WALLET,
            "TZS",
            before_version=first[-1].account_version,
            limit=4,
        )
    lines = first + rest
    assert [line.amount_minor for line in lines] == [-50, 500, 400, 300, 200, 100]
    assert [line.balance_after_minor for line in lines] == [1450, 1500, 1000, 600, 300, 100]
    assert [line.account_version for line in lines] == [6, 5, 4, 3, 2, 1]


def test_several_postings_to_one_account_get_consecutive_versions(sessions, tenant):
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 1_000)
        post_transaction(
            session,
            tenant_id=tenant.tenant_id,
            idempotency_key="split",
            kind="usage",
            postings=[
                Posting(WALLET, Currency.TZS, -300),
                Posting(WALLET, Currency.TZS, -200),
                Posting("revenue:usage", Currency.TZS, 500),
            ],
        )
    with sessions() as session:
        lines = statement(session, tenant.tenant_id, WALLET, "TZS", before_version=None, limit=10)
        assert [(ln.account_version, ln.balance_after_minor) for ln in lines] == [
            (3, 500),
            (2, 700),
            (1, 1000),
        ]
        assert find_discrepancies(session, tenant.tenant_id) == []


def credit(tenant_id: str, amount: int, key: str) -> TransactionRequest:
    return TransactionRequest(
        tenant_id=tenant_id,
        idempotency_key=key,
        kind="topup",
        postings=[
            Posting(WALLET, Currency.TZS, amount),
            Posting(clearing("mpesa"), Currency.TZS, -amount),
        ],
        description="batch",
    )


def test_a_batch_posts_each_transaction_with_running_balances(sessions, make_tenant):
    first, second = make_tenant(), make_tenant()
    requests = [
        credit(first.tenant_id, 1_000, "b:1"),
        credit(first.tenant_id, 2_000, "b:2"),
        credit(second.tenant_id, 5_000, "b:3"),
    ]
    with sessions.begin() as session:
        posted = post_transactions(session, requests)
    assert [p.replayed for p in posted] == [False, False, False]
    assert len({p.id for p in posted}) == 3
    with sessions() as session:
        assert wallet(session, first.tenant_id) == 3_000
        assert wallet(session, second.tenant_id) == 5_000
        lines = statement(session, first.tenant_id, WALLET, "TZS", before_version=None, limit=10)
        assert sorted(line.balance_after_minor for line in lines) == [1_000, 3_000]
        assert find_discrepancies(session, first.tenant_id) == []
    with sessions.begin() as session:  # the same batch again replays every transaction
        again = post_transactions(session, requests)
    assert [p.id for p in again] == [p.id for p in posted]
    assert all(p.replayed for p in again)


def test_a_batch_that_would_overdraw_a_wallet_posts_nothing(sessions, make_tenant):
    tenant_id = make_tenant().tenant_id
    with sessions.begin() as session:
        top_up(session, tenant_id, 1_000)
    overdraw = TransactionRequest(
        tenant_id=tenant_id,
        idempotency_key="b:overdraw",
        kind="charge",
        postings=[
            Posting(WALLET, Currency.TZS, -5_000),
            Posting("revenue:usage", Currency.TZS, 5_000),
        ],
    )
    with pytest.raises(InsufficientFunds), sessions.begin() as session:
        post_transactions(session, [credit(tenant_id, 500, "b:ok"), overdraw])
    with sessions() as session:
        assert wallet(session, tenant_id) == 1_000
