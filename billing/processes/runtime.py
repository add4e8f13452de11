"""The runtime of one process, with the capabilities' parts built in."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from billing.core.config import Settings
from billing.runtime import Runtime
from billing.topups.gateways import Gateways
from billing.topups.inbox_writer import InboxWriter


def build_runtime(settings: Settings) -> Runtime:
    return Runtime.build(settings, Gateways(settings), _inbox_writer)


def _inbox_writer(engine: Engine, written: Callable[[list[int]], None]) -> InboxWriter | None:
    """On PostgreSQL, verified callbacks are stored by group commit; elsewhere one by one."""
    if engine.dialect.name != "postgresql":
        return None
    return InboxWriter.for_engine(engine, written)
