# ruff: noqa: F811  (pytest hands the imported `live` fixture in as an argument)
"""Sandbox end to end: the simulated operators issue their day's statements, the daily job
fetches and reconciles them, and a Tigo Pesa payment whose callback never came (Tigo has
no status query) is found by the statement and credited after review."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import requests
from sqlalchemy import select

from billing.core.clock import utcnow
from billing.settlement.formats.lines import EAT
from billing.settlement.jobs import request_daily_reconciliation
from billing.settlement.models import StatementLine
from billing.topups.models import Topup, TopupStatus
from tests.integration.topups.conftest import live  # noqa: F401  (the live server)

pytestmark = pytest.mark.integration


def settled(live, caller, topup_id: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        topup = requests.get(f"{live.url}/v1/topups/{topup_id}", headers=caller.headers,
                             timeout=10).json()  # fmt: skip
        if topup["status"] != "pending" or time.monotonic() > deadline:
            return topup
        time.sleep(0.2)


def test_the_daily_job_reconciles_the_simulators_statements(
    live,
    tenant,
    finance,
    tmp_path,
):
    post = {"headers": tenant.headers, "timeout": 30}
    url = f"{live.url}/v1/topups"
    mpesa = {"amount": 4_000_00, "currency": "TZS", "msisdn": "0754 123 456", "provider": "mpesa"}
    paid = requests.post(url, json=mpesa, **post).json()
    # Tigo's payer pays, but no callback ever comes, and Tigo has no status query.
    tigo = {"amount": 3_000_00, "currency": "TZS", "msisdn": "0713 120 003", "provider": "tigopesa"}
    silent = requests.post(url, json=tigo, **post).json()
    assert settled(live, tenant, paid["id"])["status"] == "succeeded"
    time.sleep(1.0)  # the Tigo payer pays after the sandbox delay; no callback follows
    assert settled(live, tenant, silent["id"], timeout_s=1)["status"] == "pending"

    runtime = live.runtime
    drop = replace(runtime, settings=replace(runtime.settings, settlement_dir=str(tmp_path)))
    today = utcnow().astimezone(EAT).date()
    with live.app.app_context():
        asked = request_daily_reconciliation(drop, today)
    assert {p.rsplit("/", 1)[-1] for p in asked} >= {f"mpesa-{today}.csv", f"tigopesa-{today}.csv"}

    with runtime.sessions() as session:
        lines = {
            line.topup_id: line
            for line in session.execute(
                select(StatementLine).where(StatementLine.topup_id.in_([paid["id"], silent["id"]]))
            ).scalars()
        }
    assert lines[paid["id"]].outcome == "matched"
    assert lines[paid["id"]].fee_minor == 40_00  # the simulated 1 % charge row, linked
    missing = lines[silent["id"]]
    assert missing.outcome == "missing_in_malipo" and missing.review_item_id

    credited = requests.post(
        f"{live.url}/v1/review-items/{missing.review_item_id}/credit",
        json={"note": "on Tigo's statement of the day"},
        headers=finance.headers,
        timeout=30,
    )
    assert credited.status_code == 200, credited.json()
    with runtime.sessions() as session:
        topup = session.get(Topup, silent["id"])
        assert topup.status is TopupStatus.SUCCEEDED
        assert topup.provider_txn_id == missing.provider_txn_id
