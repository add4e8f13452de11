"""Many writers on one wallet, on real PostgreSQL: no lost update, no double post."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.orm import sessionmaker

from billing.core import scoping
from billing.core.db import make_engine, make_session_factory
from billing.core.errors import InsufficientFunds
from billing.ledger.balances import account_balance
from billing.ledger.integrity import find_discrepancies
from billing.ledger.models import Transaction
from billing.ledger.postings import WALLET
from tests.factories import charge, top_up

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wide_sessions(database_url):
    engine = make_engine(database_url, pool_size=64, max_overflow=0)
    factory = make_session_factory(engine)
    scoping.install(factory)  # as the runtime's: the system scope, under row-level security
    yield factory
    engine.dispose()


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Start `count` threads at one barrier so they really collide."""
    barrier = threading.Barrier(count)

    def start(index: int) -> object:
        barrier.wait()
        try:
            return work(index)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def wallet(sessions: sessionmaker, tenant_id: str) -> int:
    with sessions() as session:
        return account_balance(session, tenant_id, WALLET, "TZS").balance_minor


def test_fifty_threads_crediting_and_debiting_lose_no_update(wide_sessions, tenant):
    with wide_sessions.begin() as session:
        top_up(session, tenant.tenant_id, 1_000_000)

    def work(index: int) -> None:
        for step in range(10):
            with wide_sessions.begin() as session:
                if (index + step) % 2:
                    top_up(session, tenant.tenant_id, 150)
                else:
                    charge(session, tenant.tenant_id, 100)

    outcomes = run_together(50, work)
    assert [o for o in outcomes if o is not None] == []
    # 500 operations, half credits of 150 and half debits of 100.
    assert wallet(wide_sessions, tenant.tenant_id) == 1_000_000 + 250 * 150 - 250 * 100
    with wide_sessions() as session:
        assert find_discrepancies(session, tenant.tenant_id) == []


def test_fifty_threads_racing_for_the_last_shillings_never_overdraw(wide_sessions, tenant):
    with wide_sessions.begin() as session:
        top_up(session, tenant.tenant_id, 1_000)

    def work(_index: int) -> None:
        with wide_sessions.begin() as session:
            charge(session, tenant.tenant_id, 100)

    outcomes = run_together(50, work)
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert len(refused) == 40 and outcomes.count(None) == 10
    assert wallet(wide_sessions, tenant.tenant_id) == 0


def test_one_key_from_32_threads_makes_one_transaction(wide_sessions, tenant):
    def work(_index: int) -> int:
        with wide_sessions.begin() as session:
            return top_up(session, tenant.tenant_id, 2_500, key="mpesa:RACE1").id

    ids = run_together(32, work)
    assert len(set(ids)) == 1 and all(isinstance(i, int) for i in ids)
    assert wallet(wide_sessions, tenant.tenant_id) == 2_500
    with wide_sessions() as session:
        count = session.query(Transaction).filter_by(tenant_id=tenant.tenant_id).count()
    assert count == 1
