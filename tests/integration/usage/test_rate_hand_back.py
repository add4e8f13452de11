"""A worker asked to stop: `usage.rate` finishes its batch and hands the rest back."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from billing.jobs import shutdown
from billing.jobs.models import OutboxMessage
from billing.usage import jobs
from billing.usage.models import UsageRecord
from tests.integration.usage.conftest import cdr, rows, send

pytestmark = pytest.mark.integration


def test_a_stopping_worker_hands_back_the_rest_of_the_range(
    app, client, admin, rated_tenant, sessions, monkeypatch
):
    tenant = rated_tenant()
    send(client, admin, [cdr(tenant.tenant_id) for _ in range(3)])
    ids = [row.id for row in rows(sessions, tenant.tenant_id)]
    with sessions() as session, session.begin():
        session.execute(update(UsageRecord).where(UsageRecord.id.in_(ids)).values(status="pending"))
    monkeypatch.setattr(jobs, "BATCH", 1)
    shutdown.request()
    try:
        with app.app_context():
            assert jobs.rate(ids[0], ids[-1]) == 1  # its own batch, then it handed back
    finally:
        shutdown.reset()
    with sessions() as session:
        handed = session.execute(
            select(OutboxMessage.args).where(
                OutboxMessage.job == "usage.rate",
                OutboxMessage.args[0].as_numeric(20, 0) > ids[0],  # bigint ids, others' too
            )
        ).scalars()
        assert [ids[1], ids[-1]] in list(handed)
    # The handed-back job ran (in-process here) and rated the rest, each row once.
    assert [row.status for row in rows(sessions, tenant.tenant_id)] == ["billed"] * 3
