"""Group commit of the callback inbox: concurrent callbacks, one statement, same result."""

from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import select, text

from billing.core.clock import utcnow
from billing.core.ids import new_id
from billing.jobs.models import OutboxMessage
from billing.topups.inbox_writer import RECONCILE_JOB, Callback, InboxWriter
from billing.topups.models import CallbackDelivery
from tests.polling import eventually

pytestmark = pytest.mark.integration


def callback(dedupe_key: str) -> Callback:
    return Callback(
        provider="selcom",
        dedupe_key=dedupe_key,
        remote_addr="127.0.0.1",
        headers={"Digest-Method": "HS256"},
        body=b'{"transid": "%s"}' % dedupe_key.encode(),
        received_at=utcnow(),
        event={"status": "succeeded", "provider_txn_id": dedupe_key},
    )


class HeldConnection:
    """Connections whose first one is handed over only when released, so the first
    callback's write is in flight while the others queue up behind it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.release = threading.Event()

    def __call__(self) -> psycopg.Connection:
        self.release.wait(10)
        return psycopg.connect(self.url)


@pytest.fixture
def plain_url(runtime) -> str:
    return runtime.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def behind_a_held_write(url: str, group: list[Callback]) -> tuple[list[int], list[Exception]]:
    """Store one callback whose write is held, `group` meanwhile from threads of their
    own, then let the write go: what the relay was handed, and what the group raised."""
    connect, relayed = HeldConnection(url), []
    writer = InboxWriter(connect, relayed.extend)  # called by one leader at a time
    errors: list[Exception] = []

    def store(one: Callback) -> None:
        try:
            writer.store(one)
        except Exception as error:  # collected for the assertions
            errors.append(error)

    first = threading.Thread(target=store, args=(callback(new_id("txn")),))
    first.start()
    # the test peeks: the first write is in flight
    assert eventually(lambda: writer._writing, timeout_s=10, every_s=0.005)
    threads = [threading.Thread(target=store, args=(one,)) for one in group]
    for thread in threads:
        thread.start()
    eventually(lambda: len(writer._queue) >= len(group), timeout_s=10, every_s=0.005)
    connect.release.set()
    for thread in [first, *threads]:
        thread.join(20)
    writer.close()
    return relayed, errors


def stored(sessions, keys: list[str]) -> dict[str, tuple[int, int, str]]:
    """key -> (row id, deliveries, the writing transaction's id)."""
    with sessions() as session:
        rows = session.execute(
            select(
                CallbackDelivery.dedupe_key,
                CallbackDelivery.id,
                CallbackDelivery.deliveries,
                text("callback_inbox.xmin::text"),
            ).where(CallbackDelivery.dedupe_key.in_(keys))
        ).all()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def jobs_for(sessions, inbox_ids: list[int]) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_([f"{RECONCILE_JOB}:{i}" for i in inbox_ids])
                )
            )
        )


def test_callbacks_that_arrive_during_a_write_share_the_next_statement(sessions, plain_url):
    keys = [new_id("txn") for _ in range(7)]
    relayed, errors = behind_a_held_write(plain_url, [callback(k) for k in keys])

    assert errors == []
    rows = stored(sessions, keys)
    assert sorted(rows) == sorted(keys)
    assert {rows[k][1] for k in keys} == {1}
    assert len({rows[k][2] for k in keys}) == 1  # one statement, one transaction
    ids = [rows[k][0] for k in keys]
    assert sorted(jobs_for(sessions, ids)) == sorted(f"{RECONCILE_JOB}:{i}" for i in ids)
    assert len(set(relayed)) == 8  # the held one's job and the group's seven


def test_repeats_in_one_group_are_one_row_with_their_count_and_one_job(sessions, plain_url):
    key = new_id("txn")
    relayed, errors = behind_a_held_write(plain_url, [callback(key) for _ in range(5)])
    writer = InboxWriter(lambda: psycopg.connect(plain_url), relayed.extend)
    writer.store(callback(key))  # a later repeat, in a statement of its own
    writer.close()

    assert errors == []
    rows = stored(sessions, [key])
    assert rows[key][1] == 6
    assert jobs_for(sessions, [rows[key][0]]) == [f"{RECONCILE_JOB}:{rows[key][0]}"]
    assert len(relayed) == 2  # one reconciliation for each fact


def test_a_refused_callback_fails_alone_and_its_group_is_written(sessions, plain_url):
    good = [new_id("txn") for _ in range(3)]
    too_long = "x" * 300  # the inbox keeps keys of up to 200 characters
    relayed, errors = behind_a_held_write(plain_url, [callback(k) for k in [*good, too_long]])

    assert len(errors) == 1
    assert isinstance(errors[0], psycopg.errors.StringDataRightTruncation)
    assert sorted(stored(sessions, good)) == sorted(good)
    assert len(relayed) == 4


def test_a_connection_the_server_closed_is_replaced(sessions, plain_url):
    writer = InboxWriter(lambda: psycopg.connect(plain_url), lambda _ids: None)
    writer.store(callback(new_id("txn")))
    backend = writer._connection.info.backend_pid
    with sessions() as session:
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        session.commit()
    key = new_id("txn")
    writer.store(callback(key))
    assert writer._connection.info.backend_pid != backend
    assert list(stored(sessions, [key])) == [key]
    writer.close()
