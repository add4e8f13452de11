"""The PostgreSQL write paths of intake: the text[] literal, binary COPY, breakdown JSON."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.usage.bulk import text_array
from billing.usage.json_cells import breakdown_json
from tests.integration.usage.conftest import cdr, rows, send

pytestmark = pytest.mark.integration


def test_a_text_array_literal_round_trips_any_key(session):
    items = ["a", 'b"c', "d\\e", "", "x,y", "{z}", " sp ", "NULL", None, "ü€", "t\tn\nx"]
    assert (
        session.execute(text("SELECT CAST(:a AS text[])"), {"a": text_array(items)}).scalar()
        == items
    )


def test_equal_breakdowns_share_their_json_and_different_ones_do_not():
    one = {"pieces": ((0, 60, 1, 60, 60, 5),), "rate_unit_s": 60, "bundle_draws": [], "note": ""}
    same = {"pieces": [(0, 60, 1, 60, 60, 5)], "rate_unit_s": 60, "bundle_draws": [], "note": ""}
    other = {**one, "note": "minimum_charge"}
    drawn = {**one, "bundle_draws": [{"bundle": "b", "units": 60}]}
    assert breakdown_json(one) == breakdown_json(same)
    assert breakdown_json(one) == (
        '{"pieces":[[0,60,1,60,60,5]],"rate_unit_s":60,"bundle_draws":[],"note":""}'
    )
    assert '"note":"minimum_charge"' in breakdown_json(other)
    assert '"bundle_draws":[{"bundle":"b","units":60}]' in breakdown_json(drawn)
    assert breakdown_json(None) is None


def test_rated_rows_copied_in_binary_read_back_as_written(client, admin, rated_tenant, sessions):
    tenant = rated_tenant()
    send(client, admin, [cdr(tenant.tenant_id)])
    (row,) = rows(sessions, tenant.tenant_id)
    assert row.status == "billed" and row.occurred_at.tzinfo is not None
    assert row.breakdown["pieces"] and row.breakdown["bundle_draws"] == []
    assert row.ledger_transaction_id and row.ledger_entry_id and row.raw_amount
    with sessions() as session:
        stored = session.execute(
            text("SELECT breakdown::text FROM usage_records WHERE id = :id"), {"id": row.id}
        ).scalar()
    assert " " not in stored  # the compact form every path writes
