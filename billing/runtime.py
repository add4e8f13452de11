"""The objects each process holds once, and units of work on them.

This floor knows no capability: what a capability contributes (the provider gateways,
the callback inbox's writer) is built by the composition root (`billing.processes`)
and handed in. The protocols below are what the lower floors ask of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

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
from providers.base import ProviderAdapter

EXTENSION = "malipo"


class Gateways(Protocol):
    """The payment providers this process may talk to (`billing.topups.gateways`)."""

    @property
    def enabled(self) -> tuple[str, ...]: ...

    def adapter(self, code: str) -> ProviderAdapter: ...

    def callback_url(self, code: str) -> str: ...

    def missing_settings(self) -> list[str]: ...

    def authentication(self) -> dict[str, str]: ...


class CallbackWriter(Protocol):
    """Stores verified callbacks by group commit (`billing.topups.inbox_writer`)."""

    def store(self, callback: Any) -> Any: ...


# What the composition root builds per process, given the engine and the relayer's hook.
WriterFactory = Callable[[Engine, Callable[[list[int]], None]], CallbackWriter | None]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    queue: JobQueue
    redis: Redis | None
    gateways: Gateways
    relayer: Relayer
    inbox_writer: CallbackWriter | None  # PostgreSQL only: callbacks by group commit

    @classmethod
    def build(
        cls,
        settings: Settings,
        gateways: Gateways,
        inbox_writer: WriterFactory = lambda engine, written: None,
    ) -> Runtime:
        engine = make_engine(settings.database_url)
        # A forked RQ work-horse must not reuse its parent's connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        queue: JobQueue = RQJobQueue(redis) if redis is not None else InlineJobQueue()
        sessions = make_session_factory(engine)
        if engine.dialect.name == "postgresql":
            scoping.install(sessions)  # row-level security: each transaction says its scope
        relayer = Relayer(sessions, queue)
        writer = inbox_writer(engine, relayer.written)
        return cls(settings, engine, sessions, queue, redis, gateways, relayer, writer)

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
