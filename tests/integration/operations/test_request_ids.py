"""A request's id goes with the jobs it causes, through Redis, into the job's log lines."""

from __future__ import annotations

import logging

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from billing.core.context import bind_request_id, request_id, unbind_request_id
from billing.jobs.queues import RQJobQueue
from billing.jobs.registry import job

pytestmark = pytest.mark.integration
seen: list[str | None] = []


@job("test.remember_request_id")
def remember_request_id() -> None:
    seen.append(request_id())
    logging.getLogger("billing.test").info("job ran")


def test_the_request_id_rides_in_the_job_and_is_bound_while_it_runs(app, redis_url):
    redis = Redis.from_url(redis_url)
    queue = RQJobQueue(redis)
    token = bind_request_id("req-0123456789abcdef")
    try:
        queue.enqueue(9_000_001, "test.remember_request_id", [], "default")
    finally:
        unbind_request_id(token)
    queue.enqueue(9_000_002, "test.remember_request_id", [], "default")  # no request
    assert Job.fetch("outbox-9000001", connection=redis).meta == {
        "request_id": "req-0123456789abcdef"
    }
    assert Job.fetch("outbox-9000002", connection=redis).meta == {}
    seen.clear()
    with app.app_context():
        SimpleWorker([Queue("default", connection=redis)], connection=redis).work(burst=True)
    assert seen == ["req-0123456789abcdef", None]
    assert request_id() is None  # unbound again after the job
