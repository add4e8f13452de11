"""Graceful shutdown: `billing worker` leaves within seconds of SIGTERM, handing back a
job it cannot finish; `billing serve` finishes the requests in flight before it exits."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
import requests
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import text

from billing.jobs.outbox import defer
from tests.e2e.conftest import BILLING, start_worker, stop_worker
from tests.locks import waiting_on_a_lock
from tests.polling import eventually

pytestmark = pytest.mark.e2e

EXIT_WITHIN_S = 15  # generous on a loaded machine; the old worker waited for its job (300 s)


def test_sigterm_hands_back_a_job_stuck_in_the_database_and_exits(
    service_env, redis_url, sessions, tmp_path
):
    with sessions() as session, session.begin():
        # A range no record of the run's other tests falls in: the job waits on the lock
        # below, then finds nothing to do (relayed by the worker's ticker).
        outbox_id = defer(session, "usage.rate", 2**62 - 1, 2**62)
    job_id = f"outbox-{outbox_id}"
    redis = Redis.from_url(redis_url)
    log = tmp_path / "worker.log"
    with sessions() as blocker, blocker.begin():
        # Every statement on usage records waits behind this lock: the job is stuck
        # inside its transaction (and so is the ticker's usage sweep).
        blocker.execute(text("LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE"))
        worker = start_worker(service_env, log)
        try:
            running = eventually(
                lambda: job_id in StartedJobRegistry("default", connection=redis).get_job_ids(),
                timeout_s=60,
                every_s=0.2,
            )
            assert running, log.read_text()[-3000:]
            # inside the claiming statement (`id >=`: not the ticker's sweep), on the lock
            assert eventually(lambda: waiting_on_a_lock(sessions, "usage_records.id >="))
            started = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=EXIT_WITHIN_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"billing worker still alive {EXIT_WITHIN_S} s after SIGTERM")
            took = time.monotonic() - started
        finally:
            stop_worker(worker)
    assert took < EXIT_WITHIN_S
    # Handed back, not lost: RQ retries it, and a new worker finishes it.
    job = Job.fetch(job_id, connection=redis)
    assert job.get_status() in ("scheduled", "queued", "failed"), job.get_status()
    assert job.retries_left is not None and job.retries_left > 0
    # RQ's scheduler enqueues the retry when due; after a run's earlier tests SIGKILLed
    # workers, their scheduler lock holds it back for minutes on RQ's own clock, so the
    # retry is enqueued here as the scheduler would: what is tested is that it exists.
    queue = Queue("default", connection=redis)
    scheduled = ScheduledJobRegistry(queue=queue)
    if job_id in scheduled.get_job_ids():
        scheduled.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=redis))
    again = start_worker(service_env, log)
    try:
        done = eventually(
            lambda: Job.fetch(job_id, connection=redis).get_status() == "finished",
            timeout_s=120,
            every_s=0.5,
        )
        assert done, log.read_text()[-3000:]
    finally:
        stop_worker(again)


def test_serve_drains_a_request_in_flight_before_it_exits(service_env, tmp_path, sessions, admin):
    from tests.e2e.conftest import free_port

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {**service_env, "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen(
        [BILLING, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert eventually(lambda: _up(url), timeout_s=40, every_s=0.2), "serve did not start"
        answers: list[int] = []
        with sessions() as blocker, blocker.begin():
            # A readiness probe that reads the database waits behind this lock: in flight.
            blocker.execute(text("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE"))
            client = threading.Thread(target=lambda: answers.append(_slow_call(url, admin.headers)))
            client.start()
            assert eventually(lambda: waiting_on_a_lock(sessions, "FROM tenants")), "not in flight"
            server.send_signal(signal.SIGTERM)
            draining = eventually(lambda: "Shutting down" in (tmp_path / "serve.log").read_text())
            assert draining, (tmp_path / "serve.log").read_text()[-2000:]
        client.join(30)
        assert answers == [404], answers  # answered, not cut off
        server.wait(timeout=EXIT_WITHIN_S)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def _slow_call(url: str, headers: dict[str, str]) -> int:
    try:
        return requests.get(f"{url}/v1/tenants/ten_NOBODY", headers=headers, timeout=30).status_code
    except requests.RequestException:
        return 599
