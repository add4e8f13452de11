"""Issue 13, finding 4, from outside: PostgreSQL and Redis restarted under a burst.

`billing serve` and a real `billing worker` run against a PostgreSQL cluster and a Redis
of this test's own (`own_services`), so they can be restarted. Client threads request
top-ups (Tigo Pesa: no retry, no status query; M-Pesa), retrying a 503 with the same
Idempotency-Key as a client should; the sandbox simulators post their callbacks, some
into the outage. Then: no 500 at all, every answer 202 or 503 with Retry-After, every
accepted top-up credited exactly once within a bound, nothing left in the spool.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests
from sqlalchemy import func, select, text

from billing.ledger.models import Transaction
from billing.topups.models import Topup
from tests.e2e.own_services import OwnStack, own_stack
from tests.polling import eventually

pytestmark = pytest.mark.e2e
READERS = 2  # reading without a pause: both between two reads at the fault is unlikely
CLIENTS = READERS + 3  # and three requesting top-ups
PAUSE_S = 0.5  # between top-ups of the other clients: a load one worker keeps up with here
SETTLE_S = 30  # every accepted top-up is credited this long after recovery, at most
PAYERS = {"tigopesa": "0714 12 9999", "mpesa": "0754 12 9999"}  # 9999: paid, with callback


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[OwnStack]:
    root = tmp_path_factory.mktemp("fail-closed")
    # Callbacks come 2 s after the push: those of the 2 s before an outage meet it.
    with own_stack(root, {"MALIPO_SANDBOX_DELAY_S": "2.0"}) as stack:
        yield stack


@dataclasses.dataclass
class Answer:
    sent_at: float
    answered_at: float
    status: int
    retry_after: str | None
    body: str = ""  # kept when it is neither what was expected nor 503


@dataclasses.dataclass
class Burst:
    """Client threads requesting top-ups until stopped; a 503 is retried with its key."""

    url: str
    headers: dict[str, str]
    answers: list[Answer] = dataclasses.field(default_factory=list)
    accepted: dict[str, int] = dataclasses.field(default_factory=dict)  # id -> amount
    stopping: threading.Event = dataclasses.field(default_factory=threading.Event)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def run(self, ready: Callable[[], bool], during: Callable[[], None]) -> None:
        """`during` (the fault) once `ready` says so, then 2 s more of the burst."""
        threads = [threading.Thread(target=self._client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            assert eventually(ready, timeout_s=30, every_s=0.1), "the burst stalled"
            during()
            time.sleep(2.0)
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(timeout=60)

    def _client(self, number: int) -> None:
        if number < READERS:  # reads without a pause: a request of theirs is in flight
            while not self.stopping.is_set():
                self._read()
            return
        sequence = 0
        while not self.stopping.is_set():
            provider = ("tigopesa", "mpesa")[(number + sequence) % 2]
            amount = 1_000_00 + (number * 1000 + sequence) * 100  # whole shillings
            self._top_up(provider, amount)
            sequence += 1
            self.stopping.wait(PAUSE_S)

    def _read(self) -> None:
        sent_at = time.monotonic()
        response = requests.get(f"{self.url}/v1/wallet", headers=self.headers, timeout=30)
        self._record(sent_at, response, expected=200)
        if response.status_code == 503:
            time.sleep(0.1)

    def _record(self, sent_at: float, response: requests.Response, expected: int) -> None:
        answer = Answer(
            sent_at,
            time.monotonic(),
            response.status_code,
            response.headers.get("Retry-After"),
            "" if response.status_code in (expected, 503) else response.text[:300],
        )
        with self.lock:
            self.answers.append(answer)
            if response.status_code == 202:
                self.accepted[response.json()["id"]] = int(response.json()["amount"])

    def _top_up(self, provider: str, amount: int) -> None:
        key = uuid.uuid4().hex
        body = {"amount": amount, "currency": "TZS", "msisdn": PAYERS[provider],
                "provider": provider}  # fmt: skip
        for _attempt in range(100):
            sent_at = time.monotonic()
            response = requests.post(
                f"{self.url}/v1/topups",
                json=body,
                headers={**self.headers, "Idempotency-Key": key},
                timeout=30,
            )
            self._record(sent_at, response, expected=202)
            if response.status_code != 503:
                return
            time.sleep(0.3)  # the client honours Retry-After, shortened for the test


def paid(stack: OwnStack, burst: Burst) -> int:
    """How many accepted top-ups are credited already: pushes and callbacks are flowing."""
    with burst.lock:
        ids = list(burst.accepted)
    with stack.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(Topup)
            .where(Topup.id.in_(ids), Topup.status == "succeeded")
        )


def callback_due(stack: OwnStack) -> bool:
    """A Tigo push was made in the last 0.8 s: its callback comes in 1.2 s to 2 s (no
    retry, no status query), so a restart begun now has it meet the outage."""
    with stack.sessions() as session:
        return bool(
            session.scalar(
                select(func.count())
                .select_from(Topup)
                .where(
                    Topup.provider == "tigopesa",
                    Topup.status == "pending",
                    Topup.provider_ref.is_not(None),
                    Topup.updated_at > func.now() - text("interval '0.8 seconds'"),
                )
            )
        )


def settled_once(stack: OwnStack, accepted: dict[str, int]) -> bool:
    with stack.sessions() as session:
        statuses = dict(
            session.execute(select(Topup.id, Topup.status).where(Topup.id.in_(accepted))).all()
        )
    return all(status == "succeeded" for status in statuses.values())


def unsettled(stack: OwnStack, accepted: dict[str, int]) -> list[tuple]:
    """What a top-up not credited in time looks like, for the failure message."""
    with stack.sessions() as session:
        return session.execute(
            select(Topup.id, Topup.provider, Topup.status, Topup.provider_ref, Topup.checks).where(
                Topup.id.in_(accepted), Topup.status != "succeeded"
            )
        ).all()


def credit_counts(stack: OwnStack, ids: list[str]) -> dict[str, int]:
    with stack.sessions() as session:
        rows = session.execute(
            select(Transaction.reference, func.count())
            .where(Transaction.reference.in_(ids))
            .group_by(Transaction.reference)
        )
        return dict(rows.all())


def assert_nothing_lost_or_doubled(stack: OwnStack, burst: Burst, recovered_at: float) -> float:
    """Every accepted top-up credited once; returns the seconds it took after recovery."""
    statuses = {answer.status for answer in burst.answers}
    assert statuses <= {200, 202, 503}, [a.body for a in burst.answers if a.body]
    assert not [a.body for a in burst.answers if a.body]
    assert all(a.retry_after and int(a.retry_after) > 0 for a in burst.answers if a.status == 503)
    settled = eventually(
        lambda: settled_once(stack, burst.accepted), timeout_s=SETTLE_S, every_s=0.5
    )
    took = time.monotonic() - recovered_at
    assert settled, unsettled(stack, burst.accepted)
    assert credit_counts(stack, list(burst.accepted)) == dict.fromkeys(burst.accepted, 1)
    wallet = requests.get(f"{stack.url}/v1/wallet", headers=burst.headers, timeout=10).json()
    assert wallet["balance"] == sum(burst.accepted.values())
    assert requests.get(f"{stack.url}/readyz", timeout=10).json()["spool"] == 0
    log = stack.serve_log.read_text()
    assert "answered 500" not in log and "unhandled error" not in log
    return took


def test_a_postgres_restart_mid_burst_fails_closed_and_loses_nothing(stack):
    burst = Burst(stack.url, stack.make_tenant())
    outage: dict[str, float] = {}

    def restart_postgres() -> None:
        outage["down"] = time.monotonic()
        stack.pg.stop()
        time.sleep(3.0)  # longer than the simulators' callback delay
        stack.pg.start()
        outage["up"] = time.monotonic()

    burst.run(lambda: paid(stack, burst) >= 2 and callback_due(stack), restart_postgres)
    in_flight = [a for a in burst.answers if a.sent_at < outage["down"] < a.answered_at]
    assert in_flight, "the restart landed while no request was in flight"
    unavailable = [a for a in burst.answers if a.status == 503]
    assert unavailable, "no request met the outage"
    spooled = stack.serve_log.read_text().count("callback spooled")
    assert spooled, "no callback met the outage"
    took = assert_nothing_lost_or_doubled(stack, burst, outage["up"])
    print(  # the figures for the report (pytest -s)
        f"\npostgres restart: {len(burst.accepted)} top-ups, {len(burst.answers)} answers,"
        f" {len(in_flight)} in flight at the stop,"
        f" {len(unavailable)} x 503, {spooled} callbacks spooled, settled {took:.1f} s after"
    )


def test_a_redis_restart_mid_burst_loses_nothing_and_posts_still_succeed(stack):
    burst = Burst(stack.url, stack.make_tenant())
    outage: dict[str, float] = {}

    def restart_redis() -> None:
        outage["down"] = time.monotonic()
        stack.redis.stop()
        time.sleep(3.0)
        stack.redis.start()
        outage["up"] = time.monotonic()

    burst.run(lambda: paid(stack, burst) >= 2, restart_redis)
    during = [a for a in burst.answers if outage["down"] < a.sent_at < outage["up"]]
    assert during, "no request was sent while Redis was down"
    assert {a.status for a in burst.answers} == {200, 202}  # they need only the database
    took = assert_nothing_lost_or_doubled(stack, burst, outage["up"])
    assert stack.worker.poll() is None, "billing worker exited with Redis"
    print(
        f"\nredis restart: {len(burst.accepted)} top-ups, {len(during)} sent while down,"
        f" settled {took:.1f} s after"
    )
