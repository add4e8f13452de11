"""A PostgreSQL cluster and a Redis of the test's own, on their own ports, to restart;
and `own_stack`: `billing serve` and a worker on them, for the outage tests.

The shared servers are everyone's: a fault test that restarts a server needs its own.
PostgreSQL is Debian's (/usr/lib/postgresql/*/bin); initdb refuses to run as root, so
as root the cluster runs as the `postgres` user, in a directory it owns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from sqlalchemy.pool import NullPool

from billing import create_app
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.core.money import Currency
from billing.runtime import EXTENSION
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from tests.e2e.conftest import BILLING, _stop, billing, start_worker, stop_worker
from tests.polling import eventually


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class OwnPostgres:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="malipo-pg-"))
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: every client's connection is closed, as in a restart."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            user=self.user, capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / program), *args],
            user=self.user, cwd=self.root, capture_output=True, check=True, timeout=60,
        )  # fmt: skip


class OwnRedis:
    """redis-server with an append-only file synced on every write: a clean restart
    keeps every job the outbox relay handed over."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="malipo-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.root),
             "--maxmemory-policy", "noeviction"],
            stdout=(self.root / "redis.log").open("a"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # redis syncs its AOF and exits
            self.process.wait(timeout=15)

    def destroy(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclasses.dataclass
class OwnStack:
    pg: OwnPostgres
    redis: OwnRedis
    url: str
    env: dict[str, str]
    serve_log: Path
    sessions: Callable  # on a pool-less engine: it survives the restarts
    worker: subprocess.Popen

    def make_tenant(self) -> dict[str, str]:
        """A prepaid TZS tenant; its API key's Authorization header."""
        app = create_app(Settings(database_url=self.env["DATABASE_URL"], secret_key="e2e"))
        with app.extensions[EXTENSION].unit_of_work() as session:
            created = create_tenant(
                session,
                NewTenant(name="Duka", email="b@duka.co.tz", msisdn="255712345678",
                          billing_mode=BillingMode.PREPAID, currency=Currency.TZS),
            )  # fmt: skip
        app.extensions[EXTENSION].engine.dispose()
        return {"Authorization": f"Bearer {created.api_key}"}


@contextlib.contextmanager
def own_stack(root: Path, env: dict[str, str]) -> Iterator[OwnStack]:
    """Its own PostgreSQL and Redis, migrated, with `billing serve` (sandbox providers,
    its spool under `root`) and a `billing worker` on them; `env` adds to or overrides
    the service's environment. Skips where Debian's servers are not installed."""
    bindir = postgres_bindir()
    if bindir is None or not Path("/usr/bin/redis-server").exists():
        pytest.skip("needs Debian's PostgreSQL (/usr/lib/postgresql/*/bin) and redis-server")
    pg, own_redis = OwnPostgres(bindir), OwnRedis()
    serve = worker = None
    try:
        pg.start()
        own_redis.start()
        database_url = normalise_database_url(pg.create_database("malipo"))
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": own_redis.url,
            "SECRET_KEY": "e2e",
            "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MALIPO_PROVIDER_MODE": "sandbox",
            "MALIPO_REDRIVE_AFTER_S": "3",
            "MALIPO_SPOOL_DIR": str(root / "spool"),
            **env,
        }
        billing(env, "db", "upgrade")
        serve_log = root / "serve.log"
        serve = subprocess.Popen(
            [BILLING, "serve", "--port", str(port)],
            env=env, stdout=serve_log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        assert eventually(lambda: healthy(url), timeout_s=30), "billing serve did not start"
        worker = start_worker(env, root / "worker.log")
        sessions = make_session_factory(make_engine(database_url, poolclass=NullPool))
        yield OwnStack(pg, own_redis, url, env, serve_log, sessions, worker)
    finally:
        if worker is not None:
            stop_worker(worker)
        if serve is not None:
            _stop(serve)
        own_redis.destroy()
        pg.destroy()


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False
