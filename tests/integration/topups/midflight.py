"""Adapter stand-ins that misbehave at a known point, for the mid-flight tests.

Each wraps the real sandbox adapter; `inside` is set once the job is inside the
provider call, and `release` lets a held call go on (a worker that "died" there).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from billing.core.clock import utcnow
from providers.base import ProviderResult


class Stub:
    def __init__(self, real: Any, **overrides: Callable[..., Any]) -> None:
        self.real = real
        self.code = real.code
        self.capabilities = real.capabilities
        self.overrides = overrides
        self.inside = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        if name in self.overrides:
            return lambda *args: self.overrides[name](self, *args)
        return getattr(self.real, name)

    def without_status_query(self) -> Stub:
        self.capabilities = dataclasses.replace(self.capabilities, supports_status_query=False)
        return self


def held(then: Callable[..., ProviderResult]) -> Callable[..., ProviderResult]:
    """A call that reaches the provider, signals, then hangs until released: to the
    database, a worker that died inside the provider call."""

    def call(stub: Stub, *args: Any) -> ProviderResult:
        result = then(stub, *args)
        stub.inside.set()
        stub.release.wait(30)
        return result

    return call


def raises(error: Exception) -> Callable[..., ProviderResult]:
    def call(stub: Stub, *args: Any) -> ProviderResult:
        raise error

    return call


@contextmanager
def stubbed(live, provider: str, **overrides: Callable[..., Any]) -> Iterator[Stub]:
    gateways = live.runtime.gateways
    real = gateways.adapter(provider)
    stub = Stub(real, **overrides)
    gateways._adapters[provider] = stub
    try:
        yield stub
    finally:
        stub.release.set()
        gateways._adapters[provider] = real


def age(live, model: type, row_id: str, *, due: bool = True) -> None:
    """As if the row was last touched an hour ago, and (if `due`) its next check is now."""
    table = model.__table__
    an_hour_ago = utcnow() - timedelta(hours=1)
    values: dict[str, Any] = {"updated_at": an_hour_ago}
    if due:
        values["next_check_at"] = an_hour_ago
    with live.runtime.sessions.begin() as session:
        session.execute(update(table).where(table.c.id == row_id).values(**values))


def row(live, model: type, row_id: str) -> Any:
    with live.runtime.sessions() as session:
        found = session.get(model, row_id)
        session.expunge(found)
        return found
