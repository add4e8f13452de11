"""Periodic leases: of many workers due at once, one runs the task a period."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from billing.core.clock import utcnow
from billing.jobs.leases import claim, leased
from billing.jobs.models import PeriodicLease
from billing.jobs.ticker import Periodic

pytestmark = pytest.mark.integration


def test_of_sixteen_racing_claims_exactly_one_wins_each_period(sessions):
    name = f"test.race.{uuid.uuid4().hex[:8]}"
    barrier = threading.Barrier(16)
    wins: list[bool] = []

    def contend() -> None:
        barrier.wait()
        with sessions.begin() as session:
            wins.append(claim(session, name, 60.0))

    for _period in range(2):
        threads = [threading.Thread(target=contend) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with sessions.begin() as session:  # the period passes
            session.execute(
                update(PeriodicLease)
                .where(PeriodicLease.name == name)
                .values(due_at=utcnow() - timedelta(seconds=1))
            )
    assert wins.count(True) == 2 and len(wins) == 32
    with sessions() as session:
        lease = session.execute(
            select(PeriodicLease).where(PeriodicLease.name == name)
        ).scalar_one()
    assert lease.runs == 2 and lease.last_run_by


def test_a_leased_task_runs_once_a_period_whichever_ticker_asks(sessions):
    ran: list[str] = []
    name = f"test.sweep.{uuid.uuid4().hex[:8]}"
    tickers = [leased(sessions, Periodic(name, 3600.0, lambda w=w: ran.append(w))) for w in "abc"]
    for task in tickers * 3:
        task.run()
    assert len(ran) == 1
