"""POST /v1/usage/cdrs and /messages: each record once, bad ones kept, limits as problems."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from billing.usage.models import UsageRecord
from tests.integration.usage.conftest import cdr

pytestmark = pytest.mark.integration


@pytest.fixture
def tenant(rated_tenant):
    """A prepaid tenant on the standard plan: its good records are rated, not rejected."""
    return rated_tenant()


def post(client, caller, path: str, records: list) -> dict:
    response = client.post(path, json={"records": records}, headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored(sessions, source_id: str) -> list[UsageRecord]:
    with sessions() as session:
        return list(
            session.execute(select(UsageRecord).where(UsageRecord.source_id == source_id)).scalars()
        )


def test_a_resent_cdr_is_a_duplicate_and_changes_nothing(client, admin, tenant, sessions):
    record = cdr(tenant.tenant_id)
    first = post(client, admin, "/v1/usage/cdrs", [record])
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (1, 0, 0)
    [row] = stored(sessions, record["source_id"])
    again = post(client, admin, "/v1/usage/cdrs", [record, {**record, "billsec_s": 1}])
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    [after] = stored(sessions, record["source_id"])
    assert (after.id, after.billable_s, after.to_number) == (row.id, 65, "255712345678")


def test_the_same_record_twice_in_one_batch_is_stored_once(client, admin, tenant, sessions):
    record = cdr(tenant.tenant_id)
    result = post(client, admin, "/v1/usage/cdrs", [record, record])
    assert [r["status"] for r in result["results"]] == ["accepted", "duplicate"]
    assert len(stored(sessions, record["source_id"])) == 1


def test_malformed_and_unknown_tenant_records_are_stored_rejected_with_the_reason(
    client, admin, tenant, sessions
):
    good = cdr(tenant.tenant_id)
    stranger = cdr("ten_NOBODY")
    broken = cdr(tenant.tenant_id, billsec_s=99, duration_s=10, disposition="MAYBE")
    result = post(client, admin, "/v1/usage/cdrs", [good, stranger, broken, "not an object"])
    assert [r["status"] for r in result["results"]] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert result["results"][1]["reason"] == "unknown_tenant"
    assert "disposition" in result["results"][2]["reason"]
    [kept] = stored(sessions, stranger["source_id"])
    assert (kept.status, kept.reason, kept.tenant_id) == (
        "rejected",
        "unknown_tenant",
        "ten_NOBODY",
    )
    with sessions() as session:
        malformed = session.get(UsageRecord, int(result["results"][2]["usage_id"]))
    assert malformed.status == "rejected" and malformed.reason.startswith("malformed:")
    assert malformed.raw["content"]["source_id"] == broken["source_id"]
    # The same broken record again is a duplicate, not a second copy.
    again = post(client, admin, "/v1/usage/cdrs", [broken])
    assert again["results"][0]["status"] == "duplicate"


def test_messages_count_sms_segments_from_the_body(client, admin, tenant, sessions):
    sms = {
        "source_id": uuid.uuid4().hex,
        "tenant_id": tenant.tenant_id,
        "channel": "sms",
        "recipient": "+255 754 000 222",
        "body": "a" * 152 + "€" + "a" * 152,  # 3 parts: € never straddles a boundary
        "sent_at": "2026-03-02T09:00:00Z",
        "status": "accepted",
    }
    whatsapp = {
        "source_id": "wamid." + uuid.uuid4().hex,
        "tenant_id": tenant.tenant_id,
        "channel": "whatsapp",
        "recipient": "255754000222",
        "category": "marketing",
        "sent_at": "2026-03-02T09:00:00Z",
        "status": "delivered",
    }
    no_category = {**whatsapp, "source_id": uuid.uuid4().hex, "category": ""}
    result = post(client, admin, "/v1/usage/messages", [sms, whatsapp, no_category])
    assert [r["status"] for r in result["results"]] == ["accepted", "accepted", "rejected"]
    [row] = stored(sessions, sms["source_id"])
    assert (row.service, row.units, row.to_number) == ("sms", 3, "255754000222")


def test_batches_are_limited_and_bad_bodies_are_problems(client, admin, tenant):
    too_many = client.post("/v1/usage/cdrs", json={"records": [{}] * 10_001}, headers=admin.headers)
    assert too_many.status_code == 422
    assert too_many.mimetype == "application/problem+json"
    assert "records" in too_many.get_json()["errors"]
    empty = client.post("/v1/usage/cdrs", json={"records": []}, headers=admin.headers)
    assert empty.status_code == 422 and "records" in empty.get_json()["errors"]
    not_json = client.post(
        "/v1/usage/messages", data="{", content_type="application/json", headers=admin.headers
    )
    assert not_json.status_code in (400, 422)
    assert not_json.mimetype == "application/problem+json"


def test_a_full_batch_of_ten_thousand_is_taken(client, admin, tenant, sessions):
    records = [cdr(tenant.tenant_id, billsec_s=0, answered_at=None) for _ in range(10_000)]
    result = post(client, admin, "/v1/usage/cdrs", records)
    assert result["accepted"] == 10_000


def test_only_staff_send_usage(client, tenant):
    response = client.post(
        "/v1/usage/cdrs", json={"records": [cdr(tenant.tenant_id)]}, headers=tenant.headers
    )
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
