"""What /metrics reads at each scrape: the work waiting, and how long the oldest has waited.

Measured, not counted: each figure is one indexed query (or a Redis call), so every
server process answers the same, and a restarted process loses nothing. A figure whose
source is down is left out of that scrape (Prometheus marks it stale) and
`malipo_scrape_errors` says which.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from billing.core.clock import utcnow
from billing.core.db import written
from billing.invoicing.models import AWAITING_TRA, Invoice
from billing.jobs.models import OutboxMessage
from billing.jobs.queues import QUEUES
from billing.topups.models import CallbackDelivery, InboxStatus, Topup, TopupStatus
from billing.usage.models import UsageRecord, UsageStatus

log = logging.getLogger(__name__)
# Pending top-ups by age: a USSD push is answered within a minute or two; past 5 the
# status query has been made; past 30 the top-up should have expired.
TOPUP_AGES = (("lt_1m", 60), ("1m_5m", 300), ("5m_30m", 1800), ("ge_30m", None))


def _age(now: datetime, oldest: datetime | None) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


class BacklogCollector(Collector):
    """A prometheus_client collector over the database and Redis."""

    def __init__(self, sessions: sessionmaker[Session], redis: Redis | None) -> None:
        self.sessions = sessions
        self.redis = redis

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "malipo_scrape_errors", "Sources this scrape could not read", labels=["source"]
        )
        for source, measure in (("database", self._database), ("redis", self._queues)):
            try:
                yield from measure()
            except Exception as error:  # a source down must not fail the whole scrape
                log.warning("metrics: %s unreadable (%s)", source, type(error).__name__)
                errors.add_metric([source], 1)
        yield errors

    def _database(self) -> Iterator[Metric]:
        now = utcnow()
        with self.sessions() as session:
            yield from _backlog(
                session, now, "reconciliation", "callbacks stored, not yet reconciled",
                CallbackDelivery.received_at,
                CallbackDelivery.status.in_([InboxStatus.RECEIVED, InboxStatus.APPLYING]),
            )  # fmt: skip
            yield from _backlog(
                session, now, "rating", "usage records stored, not yet rated",
                UsageRecord.received_at, UsageRecord.status == written(UsageStatus.PENDING.value),
            )  # fmt: skip
            yield from _backlog(
                session, now, "fiscalisation", "finalised documents not yet acknowledged by TRA",
                Invoice.issued_at, AWAITING_TRA,
            )  # fmt: skip
            yield from _backlog(
                session, now, "outbox", "jobs written, not yet handed to the queue",
                OutboxMessage.created_at, OutboxMessage.relayed_at.is_(None),
            )  # fmt: skip
            yield _pending_topups(session, now)

    def _queues(self) -> Iterator[Metric]:
        if self.redis is None:
            return
        depth = GaugeMetricFamily("malipo_queue_depth", "Jobs waiting in an RQ queue",
                                  labels=["queue"])  # fmt: skip
        oldest = GaugeMetricFamily(
            "malipo_queue_oldest_job_age_seconds",
            "How long the job at the head of the queue has waited (0 when empty)",
            labels=["queue"],
        )
        failed = GaugeMetricFamily("malipo_queue_failed_jobs", "Jobs in RQ's failed registry",
                                   labels=["queue"])  # fmt: skip
        now = utcnow()
        for name in QUEUES:
            queue = Queue(name, connection=self.redis)
            depth.add_metric([name], queue.count)
            oldest.add_metric([name], _head_age(queue, now))
            failed.add_metric([name], queue.failed_job_registry.count)
        yield from (depth, oldest, failed)


def _backlog(
    session: Session, now: datetime, name: str, what: str, at: object, waiting: object
) -> Iterator[Metric]:
    count, first = session.execute(select(func.count(), func.min(at)).where(waiting)).one()
    yield GaugeMetricFamily(f"malipo_{name}_backlog", f"How many {what}", value=count)
    yield GaugeMetricFamily(
        f"malipo_{name}_lag_seconds", f"Age of the oldest of the {what} (0 when none)",
        value=_age(now, first),
    )  # fmt: skip


def _pending_topups(session: Session, now: datetime) -> Metric:
    created = Topup.created_at
    cutoffs = [now - timedelta(seconds=limit) for _label, limit in TOPUP_AGES[:-1]]
    windows = [created >= cutoffs[0]]
    windows += [
        (created >= older) & (created < newer) for newer, older in itertools.pairwise(cutoffs)
    ]
    windows.append(created < cutoffs[-1])
    counts = session.execute(
        select(*(func.sum(case((window, 1), else_=0)) for window in windows)).where(
            Topup.status == TopupStatus.PENDING
        )
    ).one()
    family = GaugeMetricFamily(
        "malipo_topups_pending", "Top-ups waiting for their payer or provider, by age",
        labels=["age"],
    )  # fmt: skip
    for (label, _limit), count in zip(TOPUP_AGES, counts, strict=True):
        family.add_metric([label], count or 0)
    return family


def _head_age(queue: Queue, now: datetime) -> float:
    head = queue.get_job_ids(0, 0)
    if not head:
        return 0.0
    job = Job.fetch(head[0], connection=queue.connection)
    return _age(now, job.enqueued_at.replace(tzinfo=UTC) if job.enqueued_at else None)
