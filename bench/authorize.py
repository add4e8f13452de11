"""Tariff benchmark: loading a 100,000-prefix destination CSV, and authorise latency.

Prints the CSV load time (PostgreSQL COPY after the whole file is checked; then the same
file again, which changes nothing) and the p50/p99 latency of an authorisation, measured
four ways in process: the arithmetic alone on a loaded tariff (no I/O); the service
function `billing.tariffs.authorisation.authorise` on an open session (one balance
read: the floor), and in a fresh session, as a request has (pool checkout with its
ping, BEGIN, the balance read, the cached plan, ROLLBACK); and
`POST /v1/authorize` through the Flask test client (the whole request: API key lookup,
schema, unit of work, JSON), which holds its answer (a reservation re-authorising one
session). "held (reservation)" is the service function holding its answer in its own
transaction: the tenant's advisory lock, the session's previous hold released, the
read, the insert and the commit. Targets: load < 10 s, p99 < 5 ms. The database round trips
dominate, so the figures move with the machine's load: the load average is printed.

    .venv/bin/python bench/authorize.py [--calls 5000] [--prefixes 100000]

The service function is also timed for a tenant on the starter plan (bundles: a second
read, of its bundle balances) and a postpaid tenant with a credit limit (one read of its
accrued usage and receivable instead of the wallet).

Uses (and rebuilds) the database `malipo_bench_tariffs`, or $MALIPO_BENCH_TARIFFS_DB.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from billing import create_app
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine
from billing.core.money import Currency
from billing.rating.allowance import Request, allowance
from billing.rating.plans import Service
from billing.runtime import EXTENSION
from billing.schema import upgrade
from billing.tariffs.authorisation import Hold, authorise, prepaid_debit
from billing.tariffs.commands import load_destinations_command
from billing.tariffs.rate_plans import assign_plan
from billing.tariffs.seed import (
    SEED_VALID_FROM,
    put_on_default_plan,
    put_on_starter_plan,
    seed_tariffs,
)
from billing.tariffs.service import tariff_for
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from tests.factories import top_up

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("MALIPO_BENCH_TARIFFS_DB", "malipo_bench_tariffs")
URL = normalise_database_url(f"{SERVER}/{DATABASE}")
# Country code -> E.164 length of its numbers, so every synthetic number is a possible one.
LENGTHS = {
    "254": 12,
    "256": 12,
    "250": 12,
    "257": 11,
    "260": 12,
    "265": 12,
    "258": 12,
    "27": 11,
    "234": 13,
    "44": 12,
    "91": 12,
    "86": 13,
    "255": 12,
}
COUNTRIES = tuple(code for code in LENGTHS if code != "255")


_BENCH_TENANT = NewTenant(
    name="Bench",
    email="b@bench.tz",
    msisdn="255712345678",
    billing_mode=BillingMode.PREPAID,
    currency=Currency.TZS,
)


def prepare() -> None:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(URL)


def synthetic_prefixes(count: int, seed: int = 7) -> list[str]:
    """`count` distinct prefixes of 5 to 9 digits under real country codes."""
    rng = random.Random(seed)
    prefixes: set[str] = set()
    while len(prefixes) < count:
        country = rng.choice(COUNTRIES)
        prefixes.add(country + str(rng.randrange(10 ** rng.randint(2, 6), 10**7))[:6])
    return sorted(prefixes)


def write_csv(prefixes: list[str]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as handle:
        handle.write("prefix,zone,name,country,operator,market,valid_from\n")
        for index, prefix in enumerate(prefixes):
            zone = f"INT-Z{index % 500:03d}"
            handle.write(f"{prefix},{zone},Zone {index % 500},,,,2026-01-01\n")
    return handle.name


def _number(rng: random.Random, prefix: str) -> str:
    length = next(size for code, size in LENGTHS.items() if prefix.startswith(code))
    return (prefix + "".join(rng.choice("0123456789") for _ in range(length)))[:length]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--prefixes", type=int, default=100_000)
    args = parser.parse_args()
    prepare()
    app = create_app(Settings(database_url=URL, secret_key="bench", provider_mode="live"))
    runtime = app.extensions[EXTENSION]

    prefixes = synthetic_prefixes(args.prefixes)
    path = write_csv(prefixes)
    size_mb = os.path.getsize(path) / 1e6
    print(f"destination CSV: {len(prefixes):,} prefixes, {size_mb:.1f} MB")
    for attempt in ("first load", "same file again"):
        started = time.perf_counter()
        status = load_destinations_command(runtime, path, lambda _line: None)
        took = time.perf_counter() - started
        print(f"  {attempt}: {took:.2f} s (exit {status})   target < 10 s")
    os.unlink(path)

    with runtime.unit_of_work() as session:
        _user, staff_key = create_staff(session, email="bench@malipo.test", role=Role.ADMIN)
        tenant = create_tenant(session, _BENCH_TENANT)
        put_on_default_plan(session, tenant.id)
        top_up(session, tenant.id, 1_000_000_00)
        bundled = create_tenant(session, dataclasses.replace(_BENCH_TENANT, name="Bundled"))
        put_on_starter_plan(session, bundled.id)
        top_up(session, bundled.id, 1_000_000_00)
        postpaid = create_tenant(
            session,
            dataclasses.replace(_BENCH_TENANT, name="Postpaid", billing_mode=BillingMode.POSTPAID),
        )
        assign_plan(
            session,
            postpaid.id,
            seed_tariffs(session).plan.id,
            valid_from=SEED_VALID_FROM,
            credit_limit_minor=1_000_000_00,
        )

    rng = random.Random(11)
    # Tanzanian mobile and fixed numbers, and numbers under 200 of the loaded prefixes.
    starts = ["25575", "25568", "25562", "25522", *prefixes[:: max(1, len(prefixes) // 200)]]
    numbers = [rng.choice(starts) for _ in range(args.calls)]
    numbers = [_number(rng, prefix) for prefix in numbers]
    services = [rng.choice([Service.VOICE, Service.VOICE, Service.SMS]) for _ in numbers]

    def service_call(number: str, service: Service, tenant_id: str = tenant.id) -> None:
        with runtime.sessions() as session:
            answer = authorise(session, tenant_id, service, "+" + number)
        assert answer.allowed, answer

    with runtime.sessions() as session:
        tariff = tariff_for(session, tenant.id, datetime.now(UTC))

    def arithmetic(number: str, service: Service) -> None:
        request = Request(service, number, datetime.now(UTC))
        answer = allowance(request, tariff.plan, tariff.destinations, 1_000_000_00, prepaid_debit)
        assert answer.allowed, answer

    held = runtime.sessions()

    def open_session_call(number: str, service: Service) -> None:
        answer = authorise(held, tenant.id, service, "+" + number)
        assert answer.allowed, answer

    client = app.test_client()
    headers = {"Authorization": f"Bearer {staff_key}"}

    def held_call(number: str, service: Service) -> None:
        # A held answer (what POST /v1/authorize does by default), re-authorising one
        # session: the tenant lock, the previous hold released, the read, the insert, COMMIT.
        with runtime.unit_of_work() as session:
            hold = Hold(session_id="bench-session", seconds=300)
            answer = authorise(session, tenant.id, service, "+" + number, hold=hold)
        assert answer.allowed and answer.reservation_id, answer

    def http_call(number: str, service: Service) -> None:
        body = {"tenant_id": tenant.id, "service": str(service), "destination": "+" + number,
                "session_id": "bench-http", "seconds": 300}  # fmt: skip
        response = client.post("/v1/authorize", json=body, headers=headers)
        assert response.status_code == 200 and response.get_json()["allowed"], response.get_json()

    print(f"authorise, {args.calls:,} calls over {len(prefixes) + 237:,} prefixes, in process")
    print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    modes = (
        ("arithmetic only", arithmetic),
        ("service, open session", open_session_call),
        ("service function", service_call),
        ("  bundled plan", lambda n, s: service_call(n, s, bundled.id)),
        ("  postpaid, limit", lambda n, s: service_call(n, s, postpaid.id)),
        ("held (reservation)", held_call),
        ("Flask test client", http_call),
    )
    for label, call in modes:
        for number, service in zip(numbers[:200], services[:200], strict=True):  # warm up
            call(number, service)
        samples = []
        for number, service in zip(numbers, services, strict=True):
            started = time.perf_counter()
            call(number, service)
            samples.append((time.perf_counter() - started) * 1000)
        p50, p99 = percentiles(samples)
        print(f"  {label:<21} p50 {p50:.2f} ms  p99 {p99:.2f} ms   target p99 < 5 ms")
    held.close()


if __name__ == "__main__":
    main()
