"""Delivering an event to the platform: a signed POST, retried by RQ until it answers 2xx.

The job reads the event and commits before it calls out, and records the outcome in
a second transaction: no connection, transaction or row lock is held while the
platform takes its time. Two runs racing may both POST; the platform drops the
second by its `webhook-id`, which is why at-least-once is enough here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from sqlalchemy import update

from billing.core.clock import utcnow
from billing.events import signing, wire
from billing.events.models import EventStatus, PlatformEvent
from billing.jobs.queues import RETRY_INTERVALS
from billing.jobs.registry import job
from billing.runtime import current

log = logging.getLogger(__name__)
_events = PlatformEvent.__table__
TIMEOUT_S = 10
# The first run and each of RQ's retries; after the last, the event is marked failed.
MAX_ATTEMPTS = 1 + len(RETRY_INTERVALS)
ERROR_CHARS = 500


class DeliveryFailed(RuntimeError):
    """Raised so that RQ's Retry runs the job again later."""


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends, taken from the row before its transaction ends."""

    event_id: str
    url: str
    secret: str | None
    body: bytes


@job("events.deliver", batch=50)
def deliver(event_id: str) -> None:
    """Send the event once it is committed; a run after delivery does nothing."""
    outgoing = _prepare(event_id)
    if outgoing is None:
        return
    error = _post(outgoing)
    _record(event_id, error)


def _prepare(event_id: str) -> Outgoing | None:
    runtime = current()
    url = runtime.settings.platform_webhook_url
    with runtime.unit_of_work() as session:
        event = session.get(PlatformEvent, event_id)
        if event is None:
            log.warning("platform event %s does not exist; nothing to deliver", event_id)
            return None
        if event.status == EventStatus.DELIVERED:
            return None
        if not url:
            event.status = EventStatus.NO_ENDPOINT
            return None
        return Outgoing(event.id, url, runtime.settings.platform_webhook_secret, wire.body(event))


def _post(outgoing: Outgoing) -> str | None:
    """The attempt's error, or None if the platform took the event."""
    if not outgoing.secret:
        # Unsigned events would teach the platform to accept forgeries.
        return "platform_webhook_secret is not set; refusing to send unsigned"
    headers = {
        **signing.headers(outgoing.event_id, outgoing.body, outgoing.secret),
        "content-type": "application/json",
        "user-agent": "Malipo-Webhooks/1",
    }
    try:
        response = requests.post(
            outgoing.url,
            data=outgoing.body,
            headers=headers,
            timeout=TIMEOUT_S,
            allow_redirects=False,  # a redirect is a failure, as Standard Webhooks says
        )
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"


def _record(event_id: str, error: str | None) -> None:
    """Count the attempt; raise while retries remain so that RQ schedules the next."""
    with current().unit_of_work() as session:
        row = session.execute(
            update(_events)
            .where(_events.c.id == event_id, _events.c.status != EventStatus.DELIVERED)
            .values(attempts=_events.c.attempts + 1)
            .returning(_events.c.attempts)
        ).first()
        if row is None:
            return  # a twin run delivered it meanwhile
        outcome = _outcome(error, row.attempts)
        session.execute(update(_events).where(_events.c.id == event_id).values(**outcome))
    if error is None:
        return
    if row.attempts >= MAX_ATTEMPTS:
        log.error("platform event %s failed after %d attempts: %s", event_id, row.attempts, error)
        return
    raise DeliveryFailed(f"platform event {event_id}, attempt {row.attempts}: {error}")


def _outcome(error: str | None, attempts: int) -> dict[str, object]:
    if error is None:
        return {"status": EventStatus.DELIVERED, "delivered_at": utcnow(), "last_error": None}
    status = EventStatus.FAILED if attempts >= MAX_ATTEMPTS else EventStatus.PENDING
    return {"status": status, "last_error": error[:ERROR_CHARS]}
