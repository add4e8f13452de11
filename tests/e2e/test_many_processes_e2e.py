"""Two `billing serve` processes and three workers on one PostgreSQL and one Redis.

Top-ups (some with their callback delivered five times; callbacks to both servers), usage
batches to both servers, and an invoice run finalised across both, all at once; then
every invariant: gapless numbering, fiscalisation in receipt order, the ledger balanced,
each callback applied once, and each cluster-wide sweep run once a period, not once a
worker (the lease's count, and /metrics summing the workers' own counts, agree).
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select

from billing.core.clock import utcnow
from billing.invoicing.models import Invoice, VfdCounter
from billing.invoicing.states import FiscalStatus
from billing.jobs.models import PeriodicLease
from billing.ledger.integrity import find_discrepancies
from billing.ledger.models import Transaction
from billing.tenants.models import BillingMode
from billing.topups.models import CallbackDelivery, InboxStatus, Topup, TopupStatus
from tests.e2e.conftest import BILLING, _stop, free_port, start_worker, stop_worker
from tests.factories import on_default_plan
from tests.integration.invoicing.conftest import usage
from tests.integration.usage.conftest import cdr
from tests.polling import eventually

pytestmark = pytest.mark.e2e
SWEEP = "topups.sweep"  # every 5 s: the leased task a 30 s window sees several periods of
SWEEP_EVERY_S = 5.0


def _serve(env: dict[str, str], port: int, log_path) -> tuple[str, subprocess.Popen]:
    process = subprocess.Popen(
        [BILLING, "serve", "--port", str(port), "--workers", "1"],
        env={**env, "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{port}"},
        stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    up = eventually(lambda: _healthy(url), timeout_s=30, every_s=0.2)
    if not up:
        _stop(process)
        pytest.fail(f"billing serve on {port} did not start: {log_path.read_text()[-2000:]}")
    return url, process


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def _lease_runs(sessions, name: str) -> int:
    with sessions() as session:
        lease = session.get(PeriodicLease, name)
        return lease.runs if lease is not None else 0


def _drain_free(sessions) -> bool:
    with sessions() as session:
        held = session.execute(
            select(func.count()).where(VfdCounter.drain_until > utcnow())
        ).scalar_one()
    return held == 0


def _metric(text: str, name: str, **labels: str) -> float:
    """The sample of `name` with exactly these labels, in whatever order they are written."""
    for found in re.finditer(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", text, re.M):
        if dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))) == labels:
            return float(found.group(2))
    return 0.0


def test_two_servers_and_three_workers_keep_every_invariant(
    service_env, runtime, sessions, make_tenant, admin, finance, tmp_path
):
    env = {**service_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    prepaid = [make_tenant() for _ in range(4)]
    postpaid = [make_tenant(billing_mode=BillingMode.POSTPAID) for _ in range(3)]
    with runtime.unit_of_work() as session:
        for tenant in prepaid:
            on_default_plan(session, tenant.tenant_id)
        for tenant in postpaid:  # rated usage in a month no other test bills
            at = datetime(2025, 1, 10, 9, tzinfo=UTC)
            session.add_all([usage(tenant.tenant_id, at=at), usage(tenant.tenant_id, at=at)])
    servers, workers = [], []
    try:
        ports = [free_port(), free_port()]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        # Each outside service is one server's simulator, as it is one service: TRA's and
        # M-Pesa's the first server's, Selcom's (HaloPesa) the second's, so callbacks come
        # to both. A simulator keeps its payments in its own process, and a callback is
        # confirmed by asking the operator: every worker must ask the one that took the
        # push (with each worker's own, a third of one server's confirmations failed,
        # and a top-up could wait past the test's two minutes).
        env["MALIPO_VFD_BASE_URL"] = f"{urls[0]}/sandbox/tra"
        env["MALIPO_PROVIDER_SETTINGS"] = json.dumps({
            "mpesa": {"base_url": f"{urls[0]}/sandbox/mpesa"},
            "halopesa": {"base_url": f"{urls[1]}/sandbox/selcom"},
        })  # fmt: skip
        for n, port in enumerate(ports):
            servers.append(_serve(env, port, tmp_path / f"serve{n}.log"))
        sweeps_before, window_began = _lease_runs(sessions, SWEEP), time.monotonic()
        for n in range(3):
            own = {**env, "MALIPO_PUBLIC_URL": urls[n % 2]}
            workers.append(start_worker(own, tmp_path / f"worker{n}.log"))
        topup_ids, batches, invoices = _everything_at_once(urls, prepaid, postpaid, finance)
        _settled(sessions, topup_ids, invoices)
        # Let the sweep's periods pass with all three workers ticking.
        time.sleep(max(0.0, 30 - (time.monotonic() - window_began)))
        sweeps = _lease_runs(sessions, SWEEP) - sweeps_before
        scraped = requests.get(f"{urls[1]}/metrics", timeout=10)
        window_s = time.monotonic() - window_began
        sweeps_after = _lease_runs(sessions, SWEEP) - sweeps_before
    finally:
        for worker in workers:
            stop_worker(worker)
        for _url, process in servers:
            _stop(process)
        # A worker stopped inside a fiscal drain leaves the VFD's drain lease to expire
        # (up to a minute): the next test's receipts would wait on it.
        eventually(lambda: _drain_free(sessions), timeout_s=75, every_s=0.5)

    # Each callback applied once: one credit per top-up, duplicates only counted.
    with sessions() as session:
        credits = dict(
            session.execute(
                select(Transaction.reference, func.count())
                .where(Transaction.reference.in_(topup_ids))
                .group_by(Transaction.reference)
            ).all()
        )
        inbox = session.execute(
            select(CallbackDelivery.topup_id, CallbackDelivery.status, CallbackDelivery.deliveries)
            .where(CallbackDelivery.topup_id.in_(topup_ids))
        ).all()  # fmt: skip
    assert credits == dict.fromkeys(topup_ids, 1)
    assert {row.status for row in inbox} == {InboxStatus.APPLIED}
    assert len({row.topup_id for row in inbox}) == len(inbox) == len(topup_ids)
    assert any(row.deliveries > 1 for row in inbox)  # the 0004 payers' repeats were stored once

    # The ledger balanced, for every tenant of the run; usage accepted once each.
    with sessions() as session:
        for tenant in prepaid + postpaid:
            assert find_discrepancies(session, tenant.tenant_id) == []
    assert sum(b["accepted"] for b in batches) == len(batches) * 50

    # Gapless numbering, and fiscalisation in receipt (GC) order.
    with sessions() as session:
        mine = session.execute(
            select(Invoice.series, Invoice.number, Invoice.gc, Invoice.fiscalised_at)
            .where(Invoice.id.in_(invoices) | Invoice.topup_id.in_(topup_ids))
        ).all()  # fmt: skip
        assert len(mine) == len(invoices) + len(topup_ids)
        for series, group in itertools.groupby(sorted(mine), key=lambda row: row.series):
            numbers = [row.number for row in group]
            everyone = set(
                session.execute(
                    select(Invoice.number).where(
                        Invoice.series == series,
                        Invoice.number.between(min(numbers), max(numbers)),
                    )
                ).scalars()
            )
            assert everyone == set(range(min(numbers), max(numbers) + 1)), series
        gcs = sorted(row.gc for row in mine)
        every_gc = set(
            session.execute(select(Invoice.gc).where(Invoice.gc.between(gcs[0], gcs[-1]))).scalars()
        )
        assert every_gc == set(range(gcs[0], gcs[-1] + 1))
    by_gc = sorted(mine, key=lambda row: row.gc)
    assert all(row.fiscalised_at is not None for row in by_gc)
    assert [row.fiscalised_at for row in by_gc] == sorted(row.fiscalised_at for row in by_gc)

    # The sweep ran once a period across three workers, not three times; /metrics (one
    # server's, summing every process's counts through the shared directory) agrees.
    assert 1 <= sweeps <= window_s / SWEEP_EVERY_S + 1, (sweeps, window_s)
    assert scraped.status_code == 200
    counted = _metric(scraped.text, "malipo_periodic_runs_total", task=SWEEP)
    assert sweeps - 1 <= counted <= sweeps_after  # a claim commits before it is counted
    served = sum(
        _metric(scraped.text, "malipo_http_requests_total", route=route, method="POST",
                status=status)
        for route, status in (("/v1/topups", "202"), ("/v1/usage/cdrs", "200"))
    )  # fmt: skip
    assert served == len(topup_ids) + len(batches)  # both servers' requests, summed


def _everything_at_once(urls, prepaid, postpaid, finance):
    msisdns = itertools.cycle(["0754 321 {:03d}", "0754 320 004", "0621 321 {:03d}"])
    counter = itertools.count(100)

    def top_up(n: int) -> str:
        tenant = prepaid[n % len(prepaid)]
        msisdn = next(msisdns).format(next(counter))
        provider = "halopesa" if msisdn.startswith("0621") else "mpesa"
        response = requests.post(
            f"{urls[n % 2]}/v1/topups",
            json={"amount": 2_000_00, "currency": "TZS", "msisdn": msisdn, "provider": provider},
            headers=tenant.headers, timeout=30,
        )  # fmt: skip
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def usage_batch(n: int) -> dict:
        tenant = prepaid[n % len(prepaid)]
        records = [cdr(tenant.tenant_id, source_id=uuid.uuid4().hex) for _ in range(50)]
        response = requests.post(
            f"{urls[(n + 1) % 2]}/v1/usage/cdrs", json={"records": records},
            headers=finance.headers, timeout=60,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()

    def invoice_run() -> list[str]:
        made = requests.post(
            f"{urls[0]}/v1/invoice-runs",
            json={"period_start": "2025-01-01", "period_end": "2025-02-01"},
            headers=finance.headers, timeout=60,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        ours = {tenant.tenant_id for tenant in postpaid}
        drafts = []
        for invoice_id in made.json()["created"] + made.json()["existing"]:
            got = requests.get(f"{urls[1]}/v1/invoices/{invoice_id}", headers=finance.headers,
                               timeout=30).json()  # fmt: skip
            if got["tenant_id"] in ours:
                drafts.append(invoice_id)
        assert len(drafts) == len(postpaid)
        with ThreadPoolExecutor(len(drafts)) as pool:  # finalised at once, on both servers
            answers = list(pool.map(lambda pair: requests.post(
                f"{urls[pair[0] % 2]}/v1/invoices/{pair[1]}/finalize", json={},
                headers=finance.headers, timeout=60), enumerate(drafts)))  # fmt: skip
        assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
        return drafts

    with ThreadPoolExecutor(8) as pool:
        invoices = pool.submit(invoice_run)
        topups = pool.map(top_up, range(12))
        batches = pool.map(usage_batch, range(8))
        return list(topups), list(batches), invoices.result()


def _settled(sessions, topup_ids: list[str], invoices: list[str]) -> None:
    def topups_done() -> bool:
        with sessions() as session:
            states = session.execute(select(Topup.status).where(Topup.id.in_(topup_ids)))
            return all(state == TopupStatus.SUCCEEDED for state in states.scalars())

    if not eventually(topups_done, timeout_s=120):
        with sessions() as session:
            states = session.execute(select(Topup.id, Topup.status, Topup.msisdn)
                                     .where(Topup.id.in_(topup_ids))).all()  # fmt: skip
        pytest.fail(f"top-ups did not all succeed: {states}")

    def fiscalised() -> bool:
        with sessions() as session:
            pending = session.execute(
                select(func.count()).where(
                    (Invoice.id.in_(invoices) | Invoice.topup_id.in_(topup_ids)),
                    Invoice.fiscal_status != FiscalStatus.ACKNOWLEDGED,
                )
            ).scalar_one()
            receipts = session.execute(
                select(func.count()).where(Invoice.topup_id.in_(topup_ids))
            ).scalar_one()
            return pending == 0 and receipts == len(topup_ids)

    assert eventually(fiscalised, timeout_s=120), "documents were not all fiscalised"
