"""Relaying committed outbox rows: batched jobs, in the background, or when a job ends."""

from __future__ import annotations

import threading

import pytest
from flask import Flask, current_app
from redis import Redis
from rq import Queue

from billing import create_app
from billing.core.config import Settings
from billing.jobs.models import OutboxMessage
from billing.jobs.outbox import defer, relay, take_written_ids
from billing.jobs.queues import RQJobQueue
from billing.jobs.registry import batch_size, job
from billing.jobs.relayer import Relayer
from billing.jobs.runner import BatchFailed, run_batch
from billing.runtime import EXTENSION

pytestmark = pytest.mark.integration

seen: list[str] = []


@job("test.batchable", batch=2)
def batchable(token: str) -> None:
    seen.append(token)
    if token.startswith("bad"):
        raise ValueError(token)


@job("test.single")
def single(token: str) -> None:
    seen.append(token)


def _defer(sessions, *calls: tuple[str, str]) -> list[int]:
    with sessions.begin() as session:
        return [defer(session, name, token, queue="events") for name, token in calls]


def _relayed(sessions, ids: list[int]) -> bool:
    with sessions() as session:
        return all(session.get(OutboxMessage, i).relayed_at is not None for i in ids)


@pytest.fixture
def rq(redis_url: str) -> Queue:
    queue = Queue("events", connection=Redis.from_url(redis_url))
    queue.empty()
    return queue


def test_rows_of_a_batchable_job_travel_together_up_to_its_batch_size(sessions, rq):
    ids = _defer(
        sessions,
        ("test.batchable", "a"),
        ("test.single", "b"),
        ("test.batchable", "c"),
        ("test.batchable", "d"),
    )
    assert relay(sessions, RQJobQueue(rq.connection), ids) == 4
    jobs = [rq.fetch_job(job_id) for job_id in rq.job_ids]
    calls = sorted((j.func_name, j.args) for j in jobs)
    assert calls == [
        ("billing.processes.jobs.run", ("test.batchable", "d")),
        ("billing.processes.jobs.run", ("test.single", "b")),
        ("billing.processes.jobs.run_batch", ("test.batchable", [["a"], ["c"]])),
    ]
    assert batch_size("test.batchable") == 2 and batch_size("test.single") == 1
    assert _relayed(sessions, ids)


def test_a_batch_runs_every_item_and_fails_if_one_did(app):
    seen.clear()
    with app.app_context(), pytest.raises(BatchFailed, match="1 of 3"):
        run_batch("test.batchable", [["x"], ["bad-y"], ["z"]])
    assert seen == ["x", "bad-y", "z"]


def test_a_request_hands_its_rows_to_a_background_thread(sessions, rq):
    relayer = Relayer(sessions, RQJobQueue(rq.connection))
    ids = _defer(sessions, ("test.single", "e"), ("test.single", "f"))
    relayer.written(ids)
    assert relayer.flush(timeout_s=5)
    assert _relayed(sessions, ids)
    assert {f"outbox-{i}" for i in ids} == set(rq.job_ids)


def test_inside_a_job_rows_are_held_back_until_it_ends(sessions, rq):
    relayer = Relayer(sessions, RQJobQueue(rq.connection))
    with relayer.collecting():
        for token in ("g", "h"):
            with sessions.begin() as session:
                defer(session, "test.batchable", token, queue="events")
            relayer.written(take_written_ids(session))
            assert rq.count == 0  # nothing leaves before the job is done
    assert [rq.fetch_job(i).args for i in rq.job_ids] == [("test.batchable", [["g"], ["h"]])]


def test_a_long_job_relays_what_it_gathered_so_far_when_asked(sessions, rq):
    relayer = Relayer(sessions, RQJobQueue(rq.connection))
    with relayer.collecting():
        with sessions.begin() as session:
            defer(session, "test.single", "i", queue="events")
        relayer.written(take_written_ids(session))
        relayer.relay_collected()  # a part of a stream is done: its rows go now
        assert rq.count == 1
        with sessions.begin() as session:
            defer(session, "test.single", "j", queue="events")
        relayer.written(take_written_ids(session))
        assert rq.count == 1  # the next part's rows wait for the next call, or the end
    assert rq.count == 2


ran_in: list[Flask] = []


@job("test.which_app")
def which_app() -> None:
    ran_in.append(current_app._get_current_object())


def test_an_inline_job_runs_in_its_own_app_whichever_thread_relays_it(app):
    """Not in a fresh app built from the environment (another database) when the
    relaying thread has no app context, nor in another app whose context it has."""
    ran_in.clear()
    runtime = app.extensions[EXTENSION]

    def work() -> None:
        with runtime.unit_of_work() as session:
            defer(session, "test.which_app", queue="events")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    other = create_app(Settings(database_url=app.extensions[EXTENSION].settings.database_url,
                                testing=True, secret_key="other"))  # fmt: skip
    with other.app_context():
        work()
    assert ran_in == [app, app]
