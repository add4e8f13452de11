"""A rejected record keeps the sender's identity; a malformed one is keyed per tenant
and source; reasons are sentences, not Python errors."""

from __future__ import annotations

import io
import uuid

import pytest

from billing.usage.submissions import message_rows
from tests.integration.usage.conftest import cdr, send

pytestmark = pytest.mark.integration


def test_a_malformed_record_is_answered_under_the_senders_source_id(client, admin, tenant):
    broken = cdr(tenant.tenant_id, disposition="MAYBE")
    (result,) = send(client, admin, [broken])["results"]
    assert (result["status"], result["source_id"]) == ("rejected", broken["source_id"])
    again = send(client, admin, [broken])["results"][0]
    assert (again["status"], again["source_id"]) == ("duplicate", broken["source_id"])


def test_the_same_bad_line_imported_for_two_tenants_is_two_records(client, admin, make_tenant):
    for tenant in (make_tenant(), make_tenant()):
        response = client.post(
            "/v1/usage/cdrs/import",
            query_string={"format": "asterisk", "tenant_id": tenant.tenant_id},
            data={"file": (io.BytesIO(b'"not","a","cdr"\n'), "Master.csv", "text/csv")},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.get_json()
        summary = response.get_json()
        assert (summary["rejected"], summary["duplicates"]) == (1, 0), summary
        assert "line 1" in summary["rejected_samples"][0]["reason"]


def test_the_same_bad_row_from_two_sources_is_two_records(client, admin, tenant):
    source_id = uuid.uuid4().hex
    for source in ("asterisk-a", "asterisk-b"):
        broken = cdr(
            tenant.tenant_id, source_id=source_id, source_system=source, disposition="MAYBE"
        )
        (result,) = send(client, admin, [broken])["results"]
        assert result["status"] == "rejected", result


def test_a_text_that_cannot_be_encoded_is_refused_with_a_sentence():
    sms = {
        "source_id": uuid.uuid4().hex,
        "tenant_id": "ten_X",
        "channel": "sms",
        "recipient": "255754000222",
        "body": "hello \ud800",  # a lone surrogate: no UTF-16 (or UTF-8) can hold it
        "sent_at": "2026-03-02T09:00:00Z",
        "status": "accepted",
    }
    (row,) = message_rows([sms])
    assert row["status"] == "rejected" and "codec" not in row["reason"]
    assert "body" in row["reason"] and "surrogate" in row["reason"]
    assert row["sender_source_id"] == sms["source_id"]
