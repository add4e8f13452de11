"""Retention: the daily job drops a month's usage partition past its period, pseudonymises
older numbers a month at a time, empties old callback bodies, reports what it did, and
a second run finds nothing left to do."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from billing.core.clock import utcnow
from billing.privacy import retention
from billing.topups.models import CallbackDelivery, InboxStatus
from tests.integration.invoicing.conftest import usage
from tests.integration.privacy.conftest import number

pytestmark = pytest.mark.integration

DROP_BEFORE = datetime(2025, 2, 1, tzinfo=UTC)  # Dec 2024 and Jan 2025 go
PSEUDONYMISE_BEFORE = datetime(2025, 3, 1, tzinfo=UTC)  # and Feb 2025's numbers


def days_back_to(moment: datetime, now: datetime) -> int:
    return (now - moment).days


def test_the_retention_job_drops_a_month_and_is_idempotent(runtime, make_tenant, sessions):
    now = utcnow()
    settings = dataclasses.replace(runtime.settings, retention_days={
        **runtime.settings.retention_days,
        "usage_records": days_back_to(DROP_BEFORE, now),
        "usage_numbers": days_back_to(PSEUDONYMISE_BEFORE, now),
    })  # fmt: skip
    tenant = make_tenant()
    caller = number()
    with runtime.unit_of_work() as session:
        session.add_all([
            usage(tenant.tenant_id, at=datetime(2025, 1, 15, 9, tzinfo=UTC), from_number=caller),
            usage(tenant.tenant_id, at=datetime(2025, 2, 10, 9, tzinfo=UTC), from_number=caller),
            usage(tenant.tenant_id, at=datetime(2026, 10, 10, 9, tzinfo=UTC), from_number=caller),
        ])  # fmt: skip
        session.add(CallbackDelivery(
            provider="mpesa", status=InboxStatus.APPLIED, headers={"X-Payer": caller},
            body=json.dumps({"msisdn": caller}).encode(), received_at=now - timedelta(days=200),
        ))  # fmt: skip
    with sessions() as session:
        where = session.execute(
            text("SELECT tableoid::regclass::text FROM usage_records WHERE tenant_id = :t"
                 " ORDER BY started_at"), {"t": tenant.tenant_id},
        ).scalars().all()  # fmt: skip
    assert where == ["usage_records_2025_01", "usage_records_2025_02", "usage_records_2026_10"]

    with runtime.unit_of_work() as session:
        first = retention.apply(session, settings, now)
    assert "usage_records_2025_01" in first["usage_months_dropped"]
    assert first["usage_numbers_pseudonymised"].get("usage_records_2025_02", 0) >= 1
    assert first["callback_bodies_emptied"] >= 1
    with sessions() as session:
        left = session.execute(
            text("SELECT started_at, from_number FROM usage_records WHERE tenant_id = :t"
                 " ORDER BY started_at"), {"t": tenant.tenant_id},
        ).all()  # fmt: skip
        partitions = {name for _, name in retention.month_partitions(session)}
        body = session.execute(
            text("SELECT count(*) FROM callback_inbox"
                 " WHERE position(convert_to(:n, 'UTF8') in body) > 0"),
            {"n": caller},
        ).scalar_one()  # fmt: skip
    assert [r.started_at.month for r in left] == [2, 10]  # January's partition is gone
    assert left[0].from_number.startswith("pz_") and left[1].from_number == caller
    assert "usage_records_2025_01" not in partitions and "usage_records_2025_02" in partitions
    assert body == 0

    with runtime.unit_of_work() as session:
        second = retention.apply(session, settings, now)
    assert second["usage_months_dropped"] == [] and second["usage_numbers_pseudonymised"] == {}
    assert second["callback_bodies_emptied"] == 0 and second["usage_months_ready"] == 0
    with sessions() as session:
        reports = session.execute(
            text("SELECT count(*) FROM audit_events WHERE action = 'retention.applied'"
                 " AND subject_id = :d"), {"d": now.date().isoformat()},
        ).scalar_one()  # fmt: skip
    assert reports >= 2  # each run reports what it did


def test_the_service_cannot_drop_a_recent_month_nor_a_table(sessions):
    with sessions() as session, pytest.raises(Exception, match="too recent"):
        session.execute(text("SELECT usage_partition_drop(CAST(now() AS date))"))
    with sessions() as session, pytest.raises(Exception, match="must be owner"):
        session.execute(text("DROP TABLE usage_records_default"))
