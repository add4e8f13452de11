"""The invoicing contract: period lines and annex from rated postpaid usage."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.tenants.models import BillingMode
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.statements import UsageAnnexRow, UsageLine, period_annex, period_lines

pytestmark = pytest.mark.integration


def record(tenant_id: str, at: datetime, **fields) -> UsageRecord:
    values = dict(
        source_system="test",
        source_id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        service="voice",
        to_number="255754000111",
        occurred_at=at,
        started_at=at,
        status=UsageStatus.ACCRUED,
        zone="TZ-MOB-VODACOM",
        unit="second",
        billed_units=120,
        currency="TZS",
        net_minor=100_00,
    )
    values.update(fields)
    return UsageRecord(**values)


def test_lines_group_by_service_and_zone_within_local_days(runtime, make_tenant):
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID).tenant_id
    with runtime.unit_of_work() as session:
        session.add_all(
            [
                record(tenant, datetime(2026, 3, 1, 8, tzinfo=UTC)),
                record(tenant, datetime(2026, 3, 2, 8, tzinfo=UTC), billed_units=61, net_minor=51),
                record(
                    tenant,
                    datetime(2026, 3, 3, tzinfo=UTC),
                    service="sms",
                    zone="TZ-MOB-AIRTEL",
                    unit="segment",
                    billed_units=3,
                    net_minor=66_00,
                ),
                # 2026-02-28 22:30 UTC is 01:30 on 1 March in Dar es Salaam: inside.
                record(tenant, datetime(2026, 2, 28, 22, 30, tzinfo=UTC), net_minor=1),
                # 2026-03-31 21:00 UTC is midnight on 1 April there: outside.
                record(tenant, datetime(2026, 3, 31, 21, tzinfo=UTC), net_minor=999_00),
                # Not postpaid-accrued: prepaid, superseded, rejected.
                record(tenant, datetime(2026, 3, 5, tzinfo=UTC), status=UsageStatus.BILLED),
                record(tenant, datetime(2026, 3, 5, tzinfo=UTC), status=UsageStatus.SUPERSEDED),
                record(tenant, datetime(2026, 3, 5, tzinfo=UTC), status=UsageStatus.REJECTED),
            ]
        )
    with runtime.sessions() as session:
        lines = period_lines(session, tenant, date(2026, 3, 1), date(2026, 4, 1))
        annex = list(period_annex(session, tenant, date(2026, 3, 1), date(2026, 4, 1)))
    assert lines == [
        UsageLine(
            "sms", "TZ-MOB-AIRTEL", "SMS, TZ-MOB-AIRTEL", Decimal("3.00"), "segment", 66_00, "TZS"
        ),
        UsageLine(
            "voice",
            "TZ-MOB-VODACOM",
            "Voice calls, TZ-MOB-VODACOM",
            Decimal("5.02"),  # 120 + 61 + 120 seconds
            "minute",
            100_00 + 51 + 1,
            "TZS",
        ),
    ]
    assert [row.occurred_at for row in annex] == sorted(row.occurred_at for row in annex)
    assert len(annex) == 4
    assert all(isinstance(row, UsageAnnexRow) for row in annex)
    assert sum(row.net_minor for row in annex) == sum(line.net_minor for line in lines)
    assert annex[0].destination == "255754000111" and annex[0].unit == "second"


def test_another_tenants_usage_is_not_in_the_statement(runtime, make_tenant):
    mine = make_tenant(billing_mode=BillingMode.POSTPAID).tenant_id
    other = make_tenant(billing_mode=BillingMode.POSTPAID).tenant_id
    with runtime.unit_of_work() as session:
        session.add(record(other, datetime(2026, 5, 2, tzinfo=UTC)))
    with runtime.sessions() as session:
        assert period_lines(session, mine, date(2026, 5, 1), date(2026, 6, 1)) == []
        assert list(period_annex(session, mine, date(2026, 5, 1), date(2026, 6, 1))) == []
