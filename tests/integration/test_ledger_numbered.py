"""A ledger transaction numbered ahead (migration 0034): `ledger_post()` takes the ids
given, only ids its sequences have handed out already, and a replay keeps its own."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from billing.core.db import make_engine
from billing.core.money import Currency
from billing.ledger.ledger_post import Numbered, number_ahead
from billing.ledger.models import Entry
from billing.ledger.postings import USAGE_REVENUE, WALLET, Posting
from billing.ledger.service import TransactionRequest, post_transactions
from billing.schema import upgrade
from tests.factories import top_up
from tests.migrating import downgrade

pytestmark = pytest.mark.integration


def _debit(tenant_id: str, key: str, ids: tuple[int, int] | None) -> TransactionRequest:
    postings = [Posting(WALLET, Currency.TZS, -500), Posting(USAGE_REVENUE, Currency.TZS, 500)]
    numbered = Numbered(ids[0], (ids[1], None)) if ids else None
    return TransactionRequest(tenant_id, key, "usage", postings, "usage: 1 records", None, numbered)


def test_a_transaction_numbered_ahead_is_posted_under_those_ids(sessions, tenant):
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 5_000)
        (ids,) = number_ahead(session, 1)
        other = number_ahead(session, 1)  # numbered since: ours are no longer the last
        (posted,) = post_transactions(session, [_debit(tenant.tenant_id, "ahead", ids)])
        entries = session.query(Entry).filter_by(transaction_id=posted.id).order_by(Entry.id)
        wallet_entry, revenue_entry = entries.all()
    assert posted.id == ids[0] and other[0][0] > ids[0]
    assert (wallet_entry.id, wallet_entry.amount_minor) == (ids[1], -500)
    assert revenue_entry.id > other[0][1]  # numbered as it was posted


def test_ids_the_sequences_have_not_handed_out_are_refused(sessions, tenant):
    session = sessions()
    top_up(session, tenant.tenant_id, 5_000)
    ((transaction_id, entry_id),) = number_ahead(session, 1)
    for ids in ((transaction_id + 1_000, entry_id), (transaction_id, entry_id + 1_000)):
        with pytest.raises(psycopg.errors.CheckViolation), session.begin_nested():
            post_transactions(session, [_debit(tenant.tenant_id, f"ahead-{ids}", ids)])
    session.rollback()
    session.close()


def test_a_replay_keeps_the_first_posting_s_ids(sessions, tenant):
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 5_000)
        (first,) = post_transactions(session, [_debit(tenant.tenant_id, "twice", None)])
        (ids,) = number_ahead(session, 1)
        (again,) = post_transactions(session, [_debit(tenant.tenant_id, "twice", ids)])
    assert (again.id, again.replayed) == (first.id, True)
    assert again.id != ids[0]


def _ledger_post(url: str) -> tuple[int, bool]:
    """ledger_post()'s number of arguments, and whether it runs as its owner."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(
                connection.execute(
                    text("SELECT pronargs, prosecdef FROM pg_proc WHERE proname = 'ledger_post'")
                ).one()
            )
    finally:
        engine.dispose()


def test_the_migration_goes_down_to_the_function_as_it_was_and_up_again(scratch_url):
    upgrade(scratch_url)
    assert _ledger_post(scratch_url) == (19, True)
    downgrade(scratch_url, "0033")
    assert _ledger_post(scratch_url) == (17, True)
    upgrade(scratch_url)
    assert _ledger_post(scratch_url) == (19, True)
