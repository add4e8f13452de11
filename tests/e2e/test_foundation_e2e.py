"""A newcomer's path through the running service: staff key from the CLI, a tenant over
HTTP, its wallet, and the worker running a job that came through the outbox."""

from __future__ import annotations

import re

import pytest
import requests
from redis import Redis
from sqlalchemy import select

from billing.core.clock import utcnow
from billing.ledger.models import LedgerAudit
from tests.e2e.conftest import billing
from tests.factories import top_up
from tests.polling import eventually

pytestmark = pytest.mark.e2e


def test_staff_key_tenant_and_wallet_over_real_http(live_url, service_env, sessions):
    printed = billing(
        service_env, "create-staff", "--email", "e2e-admin@malipo.test", "--role", "admin"
    )
    admin_key = re.search(r"(mlp_\S+)", printed).group(1)
    admin = {"Authorization": f"Bearer {admin_key}"}

    created = requests.post(
        f"{live_url}/v1/tenants",
        json={
            "name": "Safari Calls",
            "email": "pay@safari.co.tz",
            "msisdn": "0754 000 111",
            "billing_mode": "prepaid",
            "currency": "TZS",
        },
        headers={**admin, "Idempotency-Key": "e2e-safari"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    tenant = created.json()
    with sessions.begin() as session:
        top_up(session, tenant["id"], 25_000_00)

    own = {"Authorization": f"Bearer {tenant['api_key']}"}
    wallet = requests.get(f"{live_url}/v1/wallet", headers=own, timeout=10).json()
    assert wallet["balance"] == 25_000_00
    entries = requests.get(f"{live_url}/v1/wallet/entries", headers=own, timeout=10).json()
    assert [e["amount"] for e in entries["items"]] == [25_000_00]


def test_an_oversized_chunked_body_is_refused_by_the_server(live_url, admin):
    def body():
        for _ in range(64):
            yield b" " * 65_536  # 4 MiB in chunks, no Content-Length

    response = requests.post(
        f"{live_url}/v1/tenants",
        data=body(),
        headers={**admin.headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_worker_runs_the_daily_audit_through_the_outbox(worker, sessions):
    today = utcnow().date().isoformat()

    def audit():
        with sessions() as session:
            found = session.execute(select(LedgerAudit).where(LedgerAudit.day == today)).scalar()
        return found if found is not None and found.status in ("passed", "failed") else None

    finished = eventually(audit, timeout_s=30)
    assert finished is not None, "the worker did not finish the audit"
    assert finished.status == "passed", finished.discrepancies


def test_a_worker_serves_only_the_queues_it_is_given(service_env, redis_url):
    """`--queue` splits the work: each queue can have workers of its own."""
    from rq import Queue

    connection = Redis.from_url(redis_url)
    money, documents = (Queue(name, connection=connection) for name in ("ledger", "documents"))
    money.empty(), documents.empty()
    money.enqueue("billing.processes.jobs.run", "no.such.job")  # fails: lands in its registry
    documents.enqueue("billing.processes.jobs.run", "no.such.job")
    billing(service_env, "worker", "--burst", "--queue", "ledger")
    assert (len(money), len(documents)) == (0, 1)
    assert money.failed_job_registry.count == 1
    documents.empty()
