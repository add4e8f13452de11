"""0018 moves each top-up's refund into `refunds` and back on downgrade, losing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.core.db import make_engine
from billing.schema import upgrade
from tests.migrating import downgrade

pytestmark = pytest.mark.integration

TENANT = (
    "INSERT INTO tenants (id, name, email, msisdn, billing_mode, currency, status, created_at)"
    " VALUES ('ten_1', 'Duka', 'a@duka.test', '255754000000', 'prepaid', 'TZS', 'active', now())"
)
DEBIT = (
    "INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, request_sha256, kind,"
    " description, created_at) VALUES (7, 'ten_1', 'refund:R01ABC', '', 'refund', '', now())"
)
TOPUP = (
    "INSERT INTO topups (id, tenant_id, reference, provider, msisdn, amount_minor, currency,"
    " status, initiation, checks, created_at, updated_at, refund_status, refund_reference,"
    " refund_amount_minor, refund_reason, refund_transaction_id)"
    " VALUES ('top_01ABC', 'ten_1', 'T01ABC', 'mpesa', '255754000000', 500000, 'TZS',"
    " 'refunded', 'sent', 0, now(), now(), 'succeeded', 'R01ABC', 500000, 'wrong wallet', 7)"
)


def test_a_top_ups_refund_moves_to_the_refunds_table_and_back(scratch_url):
    upgrade(scratch_url, "0016")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
            for statement in (TENANT, DEBIT, TOPUP):
                connection.execute(text(statement))
        upgrade(scratch_url, "0018")
        with engine.connect() as connection:
            moved = connection.execute(text("SELECT * FROM refunds")).mappings().one()
        assert (moved["id"], moved["topup_id"], moved["reference"]) == (
            "rfd_01ABC",
            "top_01ABC",
            "R01ABC",
        )
        assert (moved["status"], moved["amount_minor"], moved["reason"]) == (
            "succeeded",
            500000,
            "wrong wallet",
        )
        assert moved["debit_transaction_id"] == 7
        downgrade(scratch_url, "0016")
        with engine.connect() as connection:
            back = connection.execute(text("SELECT * FROM topups")).mappings().one()
        assert (back["refund_status"], back["refund_reference"], back["refund_amount_minor"]) == (
            "succeeded",
            "R01ABC",
            500000,
        )
    finally:
        engine.dispose()
