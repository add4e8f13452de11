"""ledger_post(): one round trip to post a ledger transaction on PostgreSQL

The Python posting path costs seven round trips and most of a millisecond of
client CPU per transaction; this function does the same steps server-side, in the
same order and under the same locks, so the posting path is one statement.
SQLite (the local default) keeps the Python path.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:25:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEDGER_POST = """
CREATE FUNCTION ledger_post(
    p_tenant text, p_key text, p_digest text, p_kind text, p_description text,
    p_reference text, p_reverses bigint, p_created_at timestamptz,
    p_kinds text[], p_currencies text[], p_amounts bigint[], p_allow_negative boolean[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    txn bigint;
    target record;
BEGIN
    -- 1. The idempotency key: a twin in flight makes us wait here until it commits.
    INSERT INTO ledger_transactions (tenant_id, idempotency_key, request_sha256, kind,
                                     description, reference, reverses_id, created_at)
    VALUES (p_tenant, p_key, p_digest, p_kind, p_description, p_reference, p_reverses,
            p_created_at)
    ON CONFLICT DO NOTHING
    RETURNING id INTO txn;
    IF txn IS NULL THEN
        RETURN NULL;  -- the caller looks the existing transaction up and compares digests
    END IF;

    -- 2. Each account once, in the fixed lock order (kind, currency); a wallet that
    --    would go below zero is not updated, and that aborts the transaction.
    FOR target IN
        SELECT kind, currency, sum(amount) AS delta, count(*) AS n, bool_or(neg) AS neg
        FROM unnest(p_kinds, p_currencies, p_amounts, p_allow_negative)
             AS t(kind, currency, amount, neg)
        GROUP BY kind, currency ORDER BY kind, currency
    LOOP
        UPDATE ledger_accounts
           SET balance_minor = balance_minor + target.delta, version = version + target.n
         WHERE tenant_id = p_tenant AND kind = target.kind AND currency = target.currency
           AND (allow_negative OR balance_minor + target.delta >= 0);
        IF NOT FOUND THEN
            -- New, or created by a concurrent transaction after our snapshot: the
            -- insert waits for that creator, then the UPDATE sees its row.
            INSERT INTO ledger_accounts (tenant_id, kind, currency, balance_minor, version,
                                         allow_negative, created_at)
            VALUES (p_tenant, target.kind, target.currency, 0, 0, target.neg, p_created_at)
            ON CONFLICT DO NOTHING;
            UPDATE ledger_accounts
               SET balance_minor = balance_minor + target.delta, version = version + target.n
             WHERE tenant_id = p_tenant AND kind = target.kind AND currency = target.currency
               AND (allow_negative OR balance_minor + target.delta >= 0);
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the % account cannot go below zero', target.kind
                    USING ERRCODE = 'ML001', DETAIL = target.kind;
            END IF;
        END IF;
    END LOOP;

    -- 3. The entries, in request order, each with its account's running balance and
    --    version (the accounts already hold the totals).
    INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_minor,
                                balance_after_minor, account_version, created_at)
    SELECT txn, a.id, s.currency, s.amount,
           a.balance_minor - s.total + s.running, a.version - s.n + s.position, p_created_at
    FROM (
        SELECT kind, currency, amount, ord,
               sum(amount) OVER running_order AS running,
               row_number() OVER running_order AS position,
               sum(amount) OVER (PARTITION BY kind, currency) AS total,
               count(*) OVER (PARTITION BY kind, currency) AS n
        FROM unnest(p_kinds, p_currencies, p_amounts) WITH ORDINALITY AS p(kind, currency, amount, ord)
        WINDOW running_order AS (PARTITION BY kind, currency ORDER BY ord)
    ) AS s
    JOIN ledger_accounts a
      ON a.tenant_id = p_tenant AND a.kind = s.kind AND a.currency = s.currency
    ORDER BY s.ord;
    RETURN txn;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEDGER_POST)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS ledger_post(text, text, text, text, text, text, bigint,"
            " timestamptz, text[], text[], bigint[], boolean[])"
        )
