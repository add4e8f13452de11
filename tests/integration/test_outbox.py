"""The transactional outbox: a job exists if and only if its transaction committed."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select, text

from billing.jobs.models import OutboxMessage
from billing.jobs.outbox import defer, relay
from billing.jobs.queues import InlineJobQueue, RQJobQueue
from billing.jobs.registry import job
from billing.ledger.jobs import audit_ledger
from billing.ledger.models import LedgerAudit

pytestmark = pytest.mark.integration

calls: list[str] = []


@job("test.flaky")
def flaky(token: str) -> None:
    calls.append(token)
    if calls.count(token) == 1:
        raise RuntimeError("first attempt fails")


def _message(sessions, message_id):
    with sessions() as session:
        return session.get(OutboxMessage, message_id)


def test_a_job_deferred_in_a_rolled_back_transaction_never_exists(sessions, runtime):
    with sessions() as session:
        message_id = defer(session, "ledger.audit", 1)
        session.rollback()
    assert _message(sessions, message_id) is None
    assert relay(sessions, InlineJobQueue(), [message_id]) == 0


def test_a_misspelt_job_fails_in_the_callers_transaction(sessions):
    with pytest.raises(LookupError), sessions.begin() as session:
        defer(session, "ledger.audti", 1)


def test_a_dedupe_key_keeps_one_request_for_the_same_work(sessions):
    with sessions.begin() as session:
        first = defer(session, "test.flaky", "a", dedupe_key="dedupe-test-1")
        second = defer(session, "test.flaky", "a", dedupe_key="dedupe-test-1")
    assert first is not None and second is None


def test_relay_hands_committed_rows_to_rq_once(sessions, redis_url):
    redis = Redis.from_url(redis_url)
    with sessions.begin() as session:
        ids = [defer(session, "ledger.audit", n, queue="ledger") for n in (101, 102)]
    queue = RQJobQueue(redis)
    assert relay(sessions, queue, ids) == 2
    assert relay(sessions, queue, ids) == 0
    enqueued = Queue("ledger", connection=redis).job_ids
    assert {f"outbox-{i}" for i in ids} <= set(enqueued)
    job = Queue("ledger", connection=redis).fetch_job(f"outbox-{ids[0]}")
    assert job.func_name == "billing.processes.jobs.run" and job.args == ("ledger.audit", 101)
    assert all(_message(sessions, i).relayed_at is not None for i in ids)


def test_an_inline_job_that_fails_is_run_again_by_the_next_relay(app, sessions):
    with sessions.begin() as session:
        message_id = defer(session, "test.flaky", "inline-1")
    queue = InlineJobQueue()
    queue.bind(app)  # as the composition root binds the app's own queue
    assert relay(sessions, queue, [message_id]) == 0
    assert _message(sessions, message_id).relayed_at is None
    assert relay(sessions, queue, [message_id]) == 1
    assert calls.count("inline-1") == 2


def test_the_ledger_audit_passes_and_a_second_run_is_a_no_op(app, sessions, make_tenant):
    make_tenant()
    with sessions.begin() as session:
        audit_id = session.execute(
            text(
                "INSERT INTO ledger_audits (day, status, requested_at)"
                " VALUES ('1999-12-31', 'requested', now()) RETURNING id"
            )
        ).scalar_one()
    with app.app_context():
        audit_ledger(audit_id)
        with sessions() as session:
            first = session.execute(select(LedgerAudit).where(LedgerAudit.id == audit_id)).scalar()
        audit_ledger(audit_id)
    with sessions() as session:
        again = session.execute(select(LedgerAudit).where(LedgerAudit.id == audit_id)).scalar()
    assert first.status == "passed" and first.discrepancies == []
    assert again.finished_at == first.finished_at


def test_the_app_registers_every_job_its_code_defers():
    import json
    import subprocess
    import sys
    from pathlib import Path

    # A fresh interpreter: only what create_app imports counts. The census reads every
    # `@job(...)` and `defer(...)` in billing/, so no name is listed here by hand.
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.job_census"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    names = {kind: set(found) for kind, found in json.loads(done.stdout).items()}
    assert len(names["declared"]) >= 12 and names["deferred"]  # the source was read
    assert names["declared"] - names["registered"] == set(), "declared, not registered"
    assert names["deferred"] - names["registered"] == set(), "deferred, never registered"
