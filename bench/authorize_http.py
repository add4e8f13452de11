"""Authorise through `billing serve`, measured with wrk: p50/p99 of `POST /v1/authorize`.

One wrk connection (keep-alive, one thread) posts authorisations to `billing serve`
(Granian, as shipped, one process: a keep-alive connection stays on one process) for
`--seconds` a mode, after a warm-up: "ask only" (`"reserve": false`, the issue's figure)
and "held" (the default: the answer held as a reservation, re-authorising one session,
so the previous hold is released each time). The bodies cycle through a few hundred
Tanzanian numbers, voice and SMS, for a prepaid tenant on the default plan, as a staff
key calls. Prints p50/p99 beside the target (p99 < 2 ms, met or not) and the server's
CPU a request (/proc: user + system of the server process and its workers), which moves
less with the machine's load than the latency does.

    .venv/bin/python bench/authorize_http.py [--seconds 10] [--rounds 1]

`--rounds 2` runs the modes twice, alternating. Needs wrk (`apt-get install wrk`).
Uses (and rebuilds) the database `malipo_bench_authorize_http` and Redis database 9 (the
server relays no jobs on this path; Redis only keeps the inline ticker out of it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wrk_load  # bench/wrk_load.py
from callbacks import Processes, _free_port, cpu_seconds, wait_healthy  # bench/callbacks.py
from sqlalchemy import text

from billing import create_app
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine
from billing.core.money import Currency
from billing.runtime import EXTENSION
from billing.schema import upgrade
from billing.tariffs.seed import put_on_default_plan
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from tests.factories import top_up

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "malipo_bench_authorize_http"
URL = normalise_database_url(f"{SERVER}/{DATABASE}")
REDIS_URL = os.environ.get("MALIPO_BENCH_AUTHORIZE_REDIS", "redis://127.0.0.1:6379/9")
TARGET_P99_MS = 2.0
NUMBERS = 400


def prepare() -> tuple[str, str]:
    """A fresh database with a funded prepaid tenant on the default plan; (tenant, key)."""
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(URL)
    app = create_app(Settings(database_url=URL, secret_key="bench", provider_mode="sandbox"))
    runtime = app.extensions[EXTENSION]
    with runtime.unit_of_work() as session:
        _user, key = create_staff(session, email="bench@malipo.test", role=Role.ADMIN)
        tenant = create_tenant(
            session,
            NewTenant(
                name="Bench",
                email="b@bench.tz",
                msisdn="255712345678",
                billing_mode=BillingMode.PREPAID,
                currency=Currency.TZS,
            ),
        )
        put_on_default_plan(session, tenant.id)
        top_up(session, tenant.id, 1_000_000_000_00)
    runtime.engine.dispose()
    return tenant.id, key


def bodies(tenant_id: str, key: str, reserve: bool) -> list[tuple[bytes, dict[str, str]]]:
    rng = random.Random(5)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    items = []
    for _ in range(NUMBERS):
        number = rng.choice(("+25575", "+25568", "+25562", "+25522"))
        number += "".join(rng.choice("0123456789") for _ in range(7))
        body = {"tenant_id": tenant_id, "service": rng.choice(("voice", "voice", "sms")),
                "destination": number, "reserve": reserve}  # fmt: skip
        if reserve:
            body |= {"session_id": "bench-http", "seconds": 300}
        items.append((json.dumps(body).encode(), headers))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk's run a mode")
    parser.add_argument("--rounds", type=int, default=1, help="times each mode runs")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, untimed")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk): nothing measured")
    tenant_id, key = prepare()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": URL, "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench",
           "MALIPO_PROVIDER_MODE": "sandbox", "MALIPO_PUBLIC_URL": base}  # fmt: skip
    logs = Path(tempfile.mkdtemp(prefix="malipo-bench-authorize-"))
    processes = Processes(env, logs)
    modes = (("ask only (reserve: false)", False), ("held (default)", True))
    endpoint = f"{base}/v1/authorize"
    try:
        serve = processes.start("serve", "serve", "--port", str(port), "--workers", "1")
        wait_healthy(base, serve)
        for _label, reserve in modes:  # warm up: connections, imports, caches
            warm = wrk_load.post_for(bodies(tenant_id, key, reserve), endpoint, 1, 1, args.warmup)
            if warm.non_2xx or warm.errors or not warm.requests:
                raise SystemExit(f"warm-up failed: {warm}; see {logs}/serve.log")
        print(
            f"POST /v1/authorize through `billing serve` (Granian, 1 process), wrk: 1"
            f" connection, keep-alive, {args.seconds:g} s a mode; {os.cpu_count()} CPUs,"
            f" load average {os.getloadavg()[0]:.2f}"
        )
        print(f"  {'mode':<26} {'requests':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU/req':>9}")
        for _round in range(args.rounds):
            for label, reserve in modes:
                before = cpu_seconds(serve.pid)
                run = wrk_load.post_for(
                    bodies(tenant_id, key, reserve), endpoint, 1, 1, args.seconds
                )
                cpu_ms = (cpu_seconds(serve.pid) - before) / max(run.requests, 1) * 1e3
                if run.non_2xx or run.errors or run.timeouts:
                    raise SystemExit(f"{label}: {run}; see {logs}/serve.log")
                verdict = "met" if run.p99_ms < TARGET_P99_MS else "NOT met"
                print(
                    f"  {label:<26} {run.requests:>9,} {run.p50_ms:>7.2f} {run.p99_ms:>7.2f}"
                    f" {cpu_ms:>6.2f} ms   target p99 < {TARGET_P99_MS:g} ms: {verdict}"
                )
        print(f"  (load average afterwards {os.getloadavg()[0]:.2f})")
    finally:
        processes.stop_all()


if __name__ == "__main__":
    main()
