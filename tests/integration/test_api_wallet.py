"""/v1/wallet and its statement, paged by cursor."""

from __future__ import annotations

import pytest

from tests.factories import charge, top_up

pytestmark = pytest.mark.integration


def test_the_statement_pages_newest_first_to_the_end(client, tenant, sessions):
    with sessions.begin() as session:
        for amount in range(1_000, 13_000, 1_000):  # 12 top-ups
            top_up(session, tenant.tenant_id, amount)
        charge(session, tenant.tenant_id, 500)

    seen, cursor = [], None
    while True:
        query = "?limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/wallet/entries{query}", headers=tenant.headers).get_json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 13
    assert seen[0]["amount"] == -500 and seen[0]["kind"] == "usage"
    assert [e["amount"] for e in seen[1:]] == list(range(12_000, 0, -1_000))
    assert seen[0]["balance_after"] == sum(range(1_000, 13_000, 1_000)) - 500
    wallet = client.get("/v1/wallet", headers=tenant.headers).get_json()
    assert wallet["balance"] == wallet["available"] == seen[0]["balance_after"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?cursor=%%%", "cursor"),
        ("?cursor=djI6NQ", "cursor"),
        ("?limit=0", "limit"),
        ("?limit=500", "limit"),
        ("?limit=ten", "limit"),
    ],
)
def test_bad_paging_arguments_are_422_naming_the_field(client, tenant, query, field):
    response = client.get(f"/v1/wallet/entries{query}", headers=tenant.headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
