"""Posting a simulator's callback to Malipo, and posting it again, as an operator does.

Operators read the merchant's answer only to decide whether to try again: no answer
(refused, timed out), a 5xx, a 408/429, or the operator's own failure acknowledgement
(M-Pesa's `output_ResponseCode` other than "0", Tigo's `ResponseStatus: false`) is
retried; any other 4xx is the merchant refusing the callback, which no operator
re-sends. None of them publishes a schedule, so redelivery is bounded: `Redelivery`
says how often and how patiently (short in tests). The first attempt runs on the
caller's thread, because the early-callback scenario needs it to land before the
initiate returns; every retry runs on a thread of its own, never a request's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import requests

log = logging.getLogger(__name__)

# The callback as posted: raw body and headers, made afresh for each attempt (Selcom
# signs with the time of sending).
Message = tuple[bytes, Mapping[str, str]]
# Whether a 2xx answer's body acknowledges the callback, in the operator's own terms.
Accepts = Callable[[bytes], bool]
RETRYABLE_4XX = frozenset({408, 425, 429})
HISTORY = 1000


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"  # the merchant said no for good (a 4xx): never re-sent


@dataclass(frozen=True)
class Redelivery:
    """At most `attempts` posts in all, waiting `first_wait_s`, then `factor` times longer."""

    attempts: int = 5
    first_wait_s: float = 1.0
    factor: float = 2.0
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first_wait_s < 0 or self.factor < 1:
            raise ValueError("redelivery needs attempts >= 1, waits >= 0 and factor >= 1")

    @classmethod
    def paced_by(cls, delay_s: float) -> Redelivery:
        """The default: the first retry after the payer's own delay, doubling after."""
        return cls(first_wait_s=max(delay_s, 0.01))

    def waits(self) -> Iterator[float]:
        """The pauses before the second, third, ... attempt."""
        wait = self.first_wait_s
        for _ in range(self.attempts - 1):
            yield wait
            wait *= self.factor


@dataclass(frozen=True)
class Attempt:
    url: str
    status: int | None  # None: Malipo never answered
    verdict: Verdict


def accepts_any(body: bytes) -> bool:
    """Airtel and Selcom document no ack body: any 2xx is received."""
    return True


def verdict(status: int | None, body: bytes, accepts: Accepts) -> Verdict:
    if status is None or status >= 500 or status in RETRYABLE_4XX:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED if accepts(body) else Verdict.RETRY
    return Verdict.REFUSED


@dataclass
class Courier:
    """One simulator's outgoing callbacks; `policy` may be replaced at any time (tests)."""

    accepts: Accepts = accepts_any
    policy: Redelivery = field(default_factory=Redelivery)
    # The latest attempts, for tests and the demo; bounded, as `billing serve` runs on.
    history: deque[Attempt] = field(default_factory=lambda: deque(maxlen=HISTORY))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, url: str, compose: Callable[[], Message]) -> None:
        """Post once now; if that is not the end of it, keep trying on a daemon thread."""
        policy = self.policy
        if self._attempt(url, compose, policy) is not Verdict.RETRY or policy.attempts == 1:
            return
        thread = threading.Thread(target=self._redeliver, args=(url, compose, policy), daemon=True)
        thread.start()

    def _redeliver(self, url: str, compose: Callable[[], Message], policy: Redelivery) -> None:
        try:
            for wait in policy.waits():
                time.sleep(wait)
                if self._attempt(url, compose, policy) is not Verdict.RETRY:
                    return
            log.warning("sandbox callback to %s given up after %d attempts", url, policy.attempts)
        except Exception:  # a daemon thread has no one else to tell
            log.exception("sandbox redelivery to %s failed", url)

    def _attempt(self, url: str, compose: Callable[[], Message], policy: Redelivery) -> Verdict:
        body, headers = compose()
        status, answer = post_callback(url, body, headers, policy)
        outcome = verdict(status, answer, self.accepts)
        with self._lock:
            self.history.append(Attempt(url, status, outcome))
        if outcome is not Verdict.DELIVERED:
            log.warning("sandbox callback to %s: %s (%s)", url, outcome, status)
        return outcome


def post_callback(
    url: str, body: bytes, headers: Mapping[str, str], policy: Redelivery
) -> tuple[int | None, bytes]:
    """POST the raw body; Malipo's status and body, or (None, b"") if it never answered."""
    timeouts = (policy.connect_timeout_s, policy.read_timeout_s)
    try:
        response = requests.post(url, data=body, headers=dict(headers), timeout=timeouts)
    except requests.RequestException as error:
        log.warning("sandbox callback to %s failed: %s", url, error)
        return None, b""
    return response.status_code, response.content
