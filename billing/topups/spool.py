"""Verified callbacks the database could not take, kept on disk until it can.

Operators drop a callback we fail to take (Tigo Pesa never retries, and has no status
query), so a verified callback that meets a database outage is written to the local
spool (`billing.core.spool`: fsync'd, renamed, directory fsync'd) and acknowledged as
received. The drain moves spooled callbacks into the inbox once the database is back:
in the worker's ticker, at `billing serve` start, and by `billing spool drain`. A drain
repeated after a crash only counts one more delivery of a fact the inbox already holds
(its unique provider + dedupe key), so nothing is reconciled twice.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from billing.core.config import Settings
from billing.core.db import DATABASE_UNAVAILABLE
from billing.core.spool import Drained, Spool
from billing.topups.inbox_writer import Callback

if TYPE_CHECKING:
    from billing.runtime import Runtime

log = logging.getLogger(__name__)


def spool_for(settings: Settings) -> Spool:
    return Spool(settings.spool_dir)


def keep(settings: Settings, callback: Callback) -> bool:
    """Spool a callback durably; False if even the disk failed (answer "retry")."""
    digest = hashlib.sha256(f"{callback.provider}:{callback.dedupe_key}".encode()).hexdigest()
    name = f"{time.time_ns():020d}-{callback.provider}-{digest[:16]}"
    try:
        spool_for(settings).put(name, to_document(callback))
    except OSError as error:
        log.error("callback spool failed (%s); the operator is asked to retry", error)
        return False
    log.warning("database unavailable: %s callback spooled", callback.provider)
    return True


def drain_into_inbox(runtime: Runtime) -> Drained:
    """Store every spooled callback in the inbox, each file removed after its commit."""
    from billing.topups.inbox import store  # inbox spools through this module

    spool = spool_for(runtime.settings)
    if not spool.waiting():
        return Drained(stored=0, waiting=0, parked=0)
    drained = spool.drain(lambda doc: store(runtime, from_document(doc)), DATABASE_UNAVAILABLE)
    if drained.stored or drained.parked:
        log.info(
            "spool drained: %d stored, %d waiting, %d parked",
            drained.stored, drained.waiting, drained.parked,
        )  # fmt: skip
    return drained


def to_document(callback: Callback) -> dict[str, Any]:
    document = dataclasses.asdict(callback)
    document["body"] = base64.b64encode(callback.body).decode()
    document["received_at"] = callback.received_at.isoformat()
    return document


def from_document(document: dict[str, Any]) -> Callback:
    return Callback(
        provider=document["provider"],
        dedupe_key=document["dedupe_key"],
        remote_addr=document["remote_addr"],
        headers=document["headers"],
        body=base64.b64decode(document["body"]),
        received_at=datetime.fromisoformat(document["received_at"]),
        event=document["event"],
    )
