"""Draining the callback spool into the real inbox: once, even across a crash."""

from __future__ import annotations

import dataclasses
import os
import subprocess

import pytest
import requests
from sqlalchemy import func, select

from billing.core import spool as spool_module
from billing.jobs.models import OutboxMessage
from billing.topups.inbox_writer import Callback
from billing.topups.models import CallbackDelivery
from billing.topups.spool import drain_into_inbox, from_document, keep, spool_for, to_document
from tests.e2e.conftest import BILLING, _stop, free_port
from tests.integration.topups.test_topups import credits, settled, top_up
from tests.polling import eventually

pytestmark = pytest.mark.integration


class Crash(BaseException):
    """The process dies: nothing after this point runs."""


@pytest.fixture
def spooling(live, tmp_path):
    """The live runtime, spooling into a directory of this test's own."""
    settings = dataclasses.replace(live.runtime.settings, spool_dir=str(tmp_path))
    return dataclasses.replace(live.runtime, settings=settings)


def a_verified_callback(live, tenant) -> tuple[Callback, str]:
    """A genuine callback of a paid top-up, as a fact the inbox has not seen yet."""
    created = top_up(live, tenant, "tigopesa")
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    with live.runtime.sessions() as session:
        row = session.execute(
            select(CallbackDelivery).where(CallbackDelivery.topup_id == created["id"])
        ).scalar_one()
    callback = Callback(
        provider=row.provider,
        dedupe_key=f"{row.dedupe_key}:spooled",
        remote_addr=row.remote_addr,
        headers=row.headers,
        body=row.body,
        received_at=row.received_at,
        event=row.event,
    )
    return callback, created["id"]


def inbox_rows(live, callback: Callback) -> list[tuple[int, int]]:
    with live.runtime.sessions() as session:
        return session.execute(
            select(CallbackDelivery.id, CallbackDelivery.deliveries).where(
                CallbackDelivery.provider == callback.provider,
                CallbackDelivery.dedupe_key == callback.dedupe_key,
            )
        ).all()


def reconciliations(live, inbox_id: int) -> int:
    with live.runtime.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key == f"topups.reconcile:{inbox_id}")
        )


def test_a_spooled_callback_round_trips_whole(live, tenant):
    callback, _ = a_verified_callback(live, tenant)
    assert from_document(to_document(callback)) == callback


def test_a_crash_between_the_inbox_commit_and_the_unlink_is_drained_again_harmlessly(
    live, tenant, spooling, monkeypatch
):
    callback, topup_id = a_verified_callback(live, tenant)
    assert keep(spooling.settings, callback)
    real_unlink = spool_module.os.unlink

    def crash_instead(path):
        raise Crash

    monkeypatch.setattr(spool_module.os, "unlink", crash_instead)
    with pytest.raises(Crash):
        drain_into_inbox(spooling)
    [(inbox_id, deliveries)] = inbox_rows(live, callback)  # committed before the crash
    assert spool_for(spooling.settings).count() == 1  # and still spooled

    monkeypatch.setattr(spool_module.os, "unlink", real_unlink)
    drained = drain_into_inbox(spooling)  # the restarted process drains it again
    assert (drained.stored, drained.waiting) == (1, 0)
    assert inbox_rows(live, callback) == [(inbox_id, deliveries + 1)]  # one row: a delivery
    assert reconciliations(live, inbox_id) == 1  # reconciled once
    assert drain_into_inbox(spooling).stored == 0
    assert credits(live, topup_id) == 1  # the repeated fact credited nothing more


def spool_cli(database_url: str, spool_dir, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "MALIPO_SPOOL_DIR": str(spool_dir)}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [BILLING, "spool", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_billing_spool_drain_waits_for_the_database_then_drains(
    live, tenant, spooling, database_url
):
    callback, _ = a_verified_callback(live, tenant)
    assert keep(spooling.settings, callback)
    spool_dir = spooling.settings.spool_dir
    assert spool_cli(database_url, spool_dir, "status").stdout.startswith("1 waiting")
    away = spool_cli("postgresql://postgres@127.0.0.1:1/none", spool_dir, "drain")
    assert away.returncode == 1 and "0 stored, 1 waiting" in away.stdout
    drained = spool_cli(database_url, spool_dir, "drain")
    assert drained.returncode == 0 and "1 stored, 0 waiting, 0 parked" in drained.stdout
    [(inbox_id, deliveries)] = inbox_rows(live, callback)
    assert deliveries == 1 and reconciliations(live, inbox_id) == 1


def test_billing_serve_drains_the_spool_before_it_answers(
    live, tenant, spooling, database_url, redis_url
):
    callback, _ = a_verified_callback(live, tenant)
    assert keep(spooling.settings, callback)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,  # so no ticker in the server: only the start drains
        "MALIPO_SPOOL_DIR": spooling.settings.spool_dir,
        "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    serve = subprocess.Popen(
        [BILLING, "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert eventually(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout_s=30)
        assert spool_for(spooling.settings).count() == 0
        [(_inbox_id, deliveries)] = inbox_rows(live, callback)
        assert deliveries == 1
    finally:
        _stop(serve)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.ConnectionError:
        return False
