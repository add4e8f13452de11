"""A message's statuses through `billing serve` and a real RQ worker (issue 19): a status
that arrives while the message waits for the worker joins it, the worker charges it once,
later statuses are revisions that charge nothing more, and a resent one is a duplicate."""

from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import select

from billing.core.clock import utcnow
from billing.jobs.outbox import defer
from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET
from billing.usage.debits import vat_on
from billing.usage.intake import insert_new
from billing.usage.models import UsageRecord
from billing.usage.submissions import message_rows
from tests.factories import on_default_plan, top_up
from tests.polling import eventually

pytestmark = pytest.mark.e2e
MARKETING = 55_13


def report(tenant_id: str, source_id: str, status: str) -> dict:
    return {
        "source_system": f"wa-{tenant_id}", "source_id": source_id, "tenant_id": tenant_id,
        "channel": "whatsapp", "category": "marketing", "recipient": "255754000222",
        "sent_at": "2026-03-02T09:00:00Z", "status": status,
    }  # fmt: skip


def current(sessions, tenant_id: str, source_id: str) -> UsageRecord | None:
    with sessions() as session:
        return session.execute(
            select(UsageRecord).where(
                UsageRecord.tenant_id == tenant_id,
                UsageRecord.source_id == source_id,
                UsageRecord.status != "superseded",
            )
        ).scalar_one_or_none()


def wallet(sessions, tenant_id: str) -> int:
    with sessions() as session:
        return account_balance(session, tenant_id, WALLET, "TZS").balance_minor


def test_statuses_of_a_message_through_serve_and_the_worker(
    live_url, worker, admin, make_tenant, runtime, sessions
):
    tenant = make_tenant()
    tid = tenant.tenant_id
    with runtime.unit_of_work() as session:
        on_default_plan(session, tid)
        top_up(session, tid, 1_000_00)
    source_id = f"wamid.{uuid.uuid4().hex}"
    with runtime.unit_of_work() as session:
        # `sent`, stored pending as intake leaves a batch it could not rate; no job yet.
        rows = [
            {**row, "received_at": utcnow()}
            for row in message_rows([report(tid, source_id, "sent")])
        ]
        [stored_id] = insert_new(session, rows).values()

    def post(*statuses: str) -> dict:
        response = requests.post(
            f"{live_url}/v1/usage/messages",
            json={"records": [report(tid, source_id, s) for s in statuses]},
            headers=admin.headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    delivered = post("delivered")
    assert (delivered["updated"], delivered["results"][0]["usage_id"]) == (1, str(stored_id))
    with runtime.unit_of_work() as session:
        defer(session, "usage.rate", stored_id, stored_id)
    charged = eventually(
        lambda: (row := current(sessions, tid, source_id)) is not None and row.status == "billed",
        timeout_s=30,
    )
    assert charged, current(sessions, tid, source_id)
    row = current(sessions, tid, source_id)
    assert (row.revision, row.net_minor, row.delivery_status) == (0, MARKETING, "delivered,sent")
    assert wallet(sessions, tid) == 1_000_00 - MARKETING - vat_on(MARKETING)

    read = post("read", "sent")
    assert (read["updated"], read["duplicates"]) == (1, 1)
    row = current(sessions, tid, source_id)
    assert (row.revision, row.net_minor, row.delivery_status) == (
        1,
        MARKETING,
        "delivered,read,sent",
    )
    assert wallet(sessions, tid) == 1_000_00 - MARKETING - vat_on(MARKETING)  # charged once
    listed = requests.get(
        f"{live_url}/v1/usage", params={"service": "whatsapp"}, headers=tenant.headers, timeout=10
    ).json()
    assert [(i["status"], i["net"]) for i in listed["items"]][:1] == [("billed", MARKETING)]
