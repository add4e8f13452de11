"""GET /v1/audit-events: admins only, every filter, cursor pages, problem+json for bad filters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from billing.audit.service import record

pytestmark = pytest.mark.integration


@pytest.fixture
def trail(runtime):
    """Five events of a tenant of its own, by two actors, and one of another tenant."""
    tenant, other = f"ten_{uuid.uuid4().hex[:10]}", f"ten_{uuid.uuid4().hex[:10]}"
    actor = f"stf_{uuid.uuid4().hex[:8]}"
    with runtime.unit_of_work() as session:
        for n in range(4):
            record(session, actor=actor, action="invoice.finalised", subject_type="invoice",
                   subject_id=f"inv_{n}", tenant_id=tenant, detail={"n": n})  # fmt: skip
        record(session, actor="system", action="invoice.fiscalised", subject_type="invoice",
               subject_id="inv_0", tenant_id=tenant)  # fmt: skip
        record(session, actor=actor, action="topup.refunded", subject_type="topup",
               subject_id="top_1", tenant_id=other)  # fmt: skip
    return tenant, other, actor


def get(client, caller, **query):
    return client.get("/v1/audit-events", query_string=query, headers=caller.headers)


def test_filters_by_tenant_actor_action_and_object(client, admin, trail):
    tenant, other, actor = trail
    mine = get(client, admin, tenant_id=tenant).get_json()["items"]
    assert [e["subject_id"] for e in mine] == ["inv_0", "inv_3", "inv_2", "inv_1", "inv_0"]
    assert mine[1]["detail"] == {"n": 3} and mine[1]["actor"] == actor
    by_actor = get(client, admin, actor=actor).get_json()["items"]
    assert {e["tenant_id"] for e in by_actor} == {tenant, other}
    fiscal = get(client, admin, tenant_id=tenant, action="invoice.fiscalised").get_json()
    assert [e["actor"] for e in fiscal["items"]] == ["system"]
    prefix = get(client, admin, actor=actor, action="invoice.").get_json()["items"]
    assert len(prefix) == 4
    one = get(client, admin, subject_type="invoice", subject_id="inv_0", tenant_id=tenant)
    assert [e["action"] for e in one.get_json()["items"]] == [
        "invoice.fiscalised", "invoice.finalised",
    ]  # fmt: skip


def test_time_range(client, admin, trail):
    tenant, _other, _actor = trail
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    assert len(get(client, admin, tenant_id=tenant, since=(now - hour).isoformat(),
                   until=(now + hour).isoformat()).get_json()["items"]) == 5  # fmt: skip
    assert get(client, admin, tenant_id=tenant, since=(now + hour).isoformat()).get_json() == {
        "items": [], "next_cursor": None,
    }  # fmt: skip
    assert (
        get(client, admin, tenant_id=tenant, until=(now - hour).isoformat()).get_json()["items"]
        == []
    )


def test_cursor_pages_cover_the_trail_once(client, admin, trail):
    tenant, _other, _actor = trail
    seen, cursor = [], None
    while True:
        query = {"tenant_id": tenant, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = get(client, admin, **query).get_json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, key=int, reverse=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-10-01T00:00:00"}, "until"),  # naive: RFC 3339 needs an offset
        ({"since": "2026-10-02T00:00:00Z", "until": "2026-10-01T00:00:00Z"}, "until"),
        ({"action": "Invoice Finalised"}, "action"),
        ({"subject_id": "inv_0"}, "subject_type"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_filters_are_problems_naming_the_field(client, admin, query, field):
    response = get(client, admin, **query)
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"], response.get_json()


def test_admins_only(client, finance, tenant):
    assert get(client, finance).status_code == 403
    assert get(client, tenant).status_code == 403
    assert client.get("/v1/audit-events").status_code == 401
