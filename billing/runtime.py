"""The objects the composition root builds once per process, and units of work on them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from billing.core.config import Settings
from billing.core.db import make_engine, make_session_factory
from billing.jobs.outbox import relay, take_written_ids
from billing.jobs.queues import InlineJobQueue, JobQueue, RQJobQueue
from billing.topups.gateways import Gateways

EXTENSION = "malipo"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    queue: JobQueue
    redis: Redis | None
    gateways: Gateways

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        # A forked RQ work-horse must not reuse its parent's connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        queue: JobQueue = RQJobQueue(redis) if redis is not None else InlineJobQueue()
        sessions = make_session_factory(engine)
        return cls(settings, engine, sessions, queue, redis, Gateways(settings))

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction; after it commits, the jobs it deferred are relayed."""
        with self.sessions() as session:
            with session.begin():
                yield session
            self.relay_written(session)

    def relay_written(self, session: Session) -> None:
        """Best effort: a row not relayed now is relayed by the worker's ticker."""
        ids = take_written_ids(session)
        if not ids:
            return
        try:
            relay(self.sessions, self.queue, ids)
        except Exception:
            log.warning("outbox relay after commit failed; the ticker will retry", exc_info=True)


def current() -> Runtime:
    return current_app.extensions[EXTENSION]
