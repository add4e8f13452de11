"""The objects the composition root builds once per process, and units of work on them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from billing.core import scoping
from billing.core.config import Settings
from billing.core.db import make_engine, make_session_factory
from billing.jobs.hooks import before_commit
from billing.jobs.outbox import take_written_ids
from billing.jobs.queues import InlineJobQueue, JobQueue, RQJobQueue
from billing.jobs.relayer import Relayer
from billing.topups.gateways import Gateways
from billing.topups.inbox_writer import InboxWriter

EXTENSION = "malipo"


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    queue: JobQueue
    redis: Redis | None
    gateways: Gateways
    relayer: Relayer
    inbox_writer: InboxWriter | None  # PostgreSQL only: callbacks by group commit

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        # A forked RQ work-horse must not reuse its parent's connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        queue: JobQueue = RQJobQueue(redis) if redis is not None else InlineJobQueue()
        sessions = make_session_factory(engine)
        if engine.dialect.name == "postgresql":
            scoping.install(sessions)  # row-level security: each transaction says its scope
        relayer = Relayer(sessions, queue)
        inbox_writer = None
        if engine.dialect.name == "postgresql":
            inbox_writer = InboxWriter.for_engine(engine, relayer.written)
        return cls(
            settings, engine, sessions, queue, redis, Gateways(settings), relayer, inbox_writer
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction; after it commits, the jobs it deferred are relayed."""
        with self.sessions() as session:
            with session.begin():
                yield session
                before_commit()  # a test seam, off unless MALIPO_TEST_HOLD is set
            self.relay_written(session)

    def relay_written(self, session: Session) -> None:
        """Hand what the committed session wrote to the outbox on (see `billing.jobs.relayer`)."""
        self.relayer.written(take_written_ids(session))


def current() -> Runtime:
    return current_app.extensions[EXTENSION]
