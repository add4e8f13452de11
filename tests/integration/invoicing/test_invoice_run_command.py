"""`billing invoice-run --period 2026-10` as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from billing.invoicing.models import Invoice
from billing.tenants.models import BillingMode
from tests.integration.invoicing.conftest import usage

pytestmark = pytest.mark.integration
BILLING = str(Path(sys.executable).parent / "billing")


def invoice_run(database_url: str, period: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [BILLING, "invoice-run", "--period", period],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_command_drafts_each_postpaid_tenant_once(database_url, runtime, make_tenant):
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.add(usage(tenant.tenant_id))
    first = invoice_run(database_url, "2026-10")
    assert first.returncode == 0, first.stderr
    assert "Invoicing 2026-10" in first.stdout
    assert "drafts made" in first.stdout
    second = invoice_run(database_url, "2026-10")
    assert " 0 drafts made" in second.stdout
    with runtime.sessions() as session:
        count = session.execute(
            select(func.count()).select_from(Invoice).where(Invoice.tenant_id == tenant.tenant_id)
        ).scalar_one()
    assert count == 1


def test_a_malformed_period_is_refused(database_url):
    done = invoice_run(database_url, "2026-13")
    assert done.returncode == 2
    assert "YYYY-MM" in done.stderr
