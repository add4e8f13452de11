"""Fixtures shared by every layer of tests.

Integration and end-to-end tests run against real PostgreSQL and Redis (see the
README's `make test`). Each run has its own database, created on the server that
MALIPO_TEST_DATABASE_URL names (`<its name>_run_<id>`), built by the migrations and
dropped at the end, so two runs side by side never destroy each other's rows. Redis
likewise: MALIPO_TEST_REDIS_URL when set (that database is the run's, and flushed);
otherwise a private `redis-server` on a socket of the run's own, or else db 15.
Tests never delete: each creates its own tenant, so they cannot see each other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from redis import Redis
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session, sessionmaker

from billing import create_app
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine
from billing.core.money import Currency
from billing.runtime import EXTENSION, Runtime
from billing.schema import grant_service_role, upgrade
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from tests.polling import eventually

# Property tests are judged by what they find, never by the wall clock: a loaded machine
# (CI beside other work) must not turn a slow example into a failure.
hypothesis_settings.register_profile(
    "malipo", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("malipo")

DATABASE_URL = normalise_database_url(
    os.environ.get("MALIPO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
REDIS_URL = os.environ.get("MALIPO_TEST_REDIS_URL")
FALLBACK_REDIS_URL = "redis://127.0.0.1:6379/15"


def run_database_url(base: str, run_id: str) -> str:
    """The run's own database, beside `base`'s on the same server."""
    url = make_url(base)
    return url.set(database=f"{url.database}_run_{run_id}"[:63]).render_as_string(
        hide_password=False
    )


# The two roles of a deployment (PostgreSQL trust authentication, as on the test server):
# the schema's owner, which runs the migrations, and the service's, which owns nothing and
# cannot bypass row-level security. Every test's app, worker and CLI connects as the latter.
OWNER_ROLE = os.environ.get("MALIPO_TEST_OWNER_ROLE", "malipo_owner")
SERVICE_ROLE = os.environ.get("MALIPO_TEST_SERVICE_ROLE", "malipo_service")


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def ensure_roles(server) -> None:
    """Both roles, created once per server; runs side by side may race to create them."""
    for role in (OWNER_ROLE, SERVICE_ROLE):
        with server.connect() as connection:
            connection.execute(text(
                f"DO $$ BEGIN CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB"
                " NOCREATEROLE; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;"
                " END $$"
            ))  # fmt: skip


@pytest.fixture(scope="session")
def superuser_sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions as the server's superuser on the run's database: for tests that plant
    what no role of the service may (a trigger bypassed, a row no policy admits)."""
    engine = make_engine(as_role(database_url, make_url(DATABASE_URL).username or "postgres"))
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture(scope="session")
def owner_database_url(database_url: str) -> str:
    """The run's database as its owner (DDL, migrations; row-level security binds it too)."""
    return as_role(database_url, OWNER_ROLE)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The run's database as the service's role."""
    run_url = run_database_url(DATABASE_URL, f"{os.getpid()}_{os.urandom(3).hex()}")
    name = make_url(run_url).database
    server = make_engine(DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")
    ensure_roles(server)
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"'))
    owner_url = as_role(run_url, OWNER_ROLE)
    upgrade(owner_url)
    grant_service_role(owner_url, SERVICE_ROLE)
    yield as_role(run_url, SERVICE_ROLE)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if REDIS_URL is not None or shutil.which("redis-server") is None:
        url = REDIS_URL or FALLBACK_REDIS_URL
        Redis.from_url(url).flushdb()
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="malipo-redis-") as folder:
        socket = Path(folder) / "redis.sock"
        server = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(socket), "--save", "",
             "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"unix://{socket}"
        eventually(socket.exists, timeout_s=10)
        try:
            yield url
        finally:
            server.terminate()
            server.wait(10)


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    """The app with jobs run in-process (no Redis), as on a developer's laptop."""
    return create_app(Settings(database_url=database_url, testing=True, secret_key="test"))


@pytest.fixture(scope="session")
def runtime(app: Flask) -> Runtime:
    return app.extensions[EXTENSION]


@pytest.fixture(scope="session")
def sessions(runtime: Runtime) -> sessionmaker[Session]:
    return runtime.sessions


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class Caller:
    """Someone holding an API key, with the headers to prove it."""

    token: str
    tenant_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _staff(runtime: Runtime, role: Role) -> Caller:
    with runtime.unit_of_work() as session:
        _user, token = create_staff(session, email=f"{os.urandom(6).hex()}@malipo.test", role=role)
    return Caller(token)


@pytest.fixture
def admin(runtime: Runtime) -> Caller:
    return _staff(runtime, Role.ADMIN)


@pytest.fixture
def finance(runtime: Runtime) -> Caller:
    return _staff(runtime, Role.FINANCE)


@pytest.fixture
def make_tenant(runtime: Runtime):
    def make(
        currency: Currency = Currency.TZS, billing_mode: BillingMode = BillingMode.PREPAID
    ) -> Caller:
        with runtime.unit_of_work() as session:
            created = create_tenant(
                session,
                NewTenant(
                    name="Duka la Simu",
                    email="billing@duka.co.tz",
                    msisdn="255712345678",
                    billing_mode=billing_mode,
                    currency=currency,
                ),
            )
        return Caller(created.api_key, created.id)

    return make


@pytest.fixture
def tenant(make_tenant) -> Caller:
    return make_tenant()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work the test commits or rolls back itself."""
    with sessions() as session:
        yield session


@pytest.fixture
def scratch_url() -> Iterator[str]:
    """A database of the test's own, dropped after it: for migrations run down and up (the
    suite's is at head and shared)."""
    name = f"{DATABASE_URL.rsplit('/', 1)[1]}_mig_{os.urandom(3).hex()}"
    admin = make_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_database_url(DATABASE_URL.rsplit("/", 1)[0] + "/" + name)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
