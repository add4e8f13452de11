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
    -- one element per account, in the fixed lock order (kind, currency):
    a_kinds text[], a_currencies text[], a_deltas bigint[], a_counts integer[],
    a_allow_negative boolean[],
    -- one element per entry, in request order; offsets are from the account's final
    -- balance and version, which only the UPDATE can tell:
    e_accounts integer[], e_amounts bigint[], e_balance_offsets bigint[],
    e_version_offsets integer[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    txn bigint;
    ids bigint[];
    balances bigint[];
    versions bigint[];
    new_id bigint;
    new_balance bigint;
    new_version bigint;
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

    -- 2. Each account once, in order; a wallet that would go below zero is not updated.
    FOR i IN 1 .. array_length(a_kinds, 1) LOOP
        UPDATE ledger_accounts
           SET balance_minor = balance_minor + a_deltas[i], version = version + a_counts[i]
         WHERE tenant_id = p_tenant AND kind = a_kinds[i] AND currency = a_currencies[i]
           AND (allow_negative OR balance_minor + a_deltas[i] >= 0)
        RETURNING id, balance_minor, version INTO new_id, new_balance, new_version;
        IF NOT FOUND THEN
            -- New, or created by a concurrent transaction after our snapshot: the
            -- insert waits for that creator, then the UPDATE sees its row.
            INSERT INTO ledger_accounts (tenant_id, kind, currency, balance_minor, version,
                                         allow_negative, created_at)
            VALUES (p_tenant, a_kinds[i], a_currencies[i], 0, 0, a_allow_negative[i],
                    p_created_at)
            ON CONFLICT DO NOTHING;
            UPDATE ledger_accounts
               SET balance_minor = balance_minor + a_deltas[i], version = version + a_counts[i]
             WHERE tenant_id = p_tenant AND kind = a_kinds[i] AND currency = a_currencies[i]
               AND (allow_negative OR balance_minor + a_deltas[i] >= 0)
            RETURNING id, balance_minor, version INTO new_id, new_balance, new_version;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the % account cannot go below zero', a_kinds[i]
                    USING ERRCODE = 'ML001', DETAIL = a_kinds[i];
            END IF;
        END IF;
        ids[i] := new_id;
        balances[i] := new_balance;
        versions[i] := new_version;
    END LOOP;

    -- 3. The entries, each with its account's running balance and version.
    INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_minor,
                                balance_after_minor, account_version, created_at)
    SELECT txn, ids[e.account], a_currencies[e.account], e.amount,
           balances[e.account] + e.balance_offset, versions[e.account] + e.version_offset,
           p_created_at
    FROM unnest(e_accounts, e_amounts, e_balance_offsets, e_version_offsets)
         AS e(account, amount, balance_offset, version_offset);
    RETURN txn;
END $$;
"""

# One query instead of two: the checks run three times per two-entry transaction.
BALANCED_CHECK = """
CREATE OR REPLACE FUNCTION ledger_assert_balanced(txn bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    entries bigint;
    unbalanced boolean;
BEGIN
    SELECT coalesce(sum(n), 0), coalesce(bool_or(total <> 0), false) INTO entries, unbalanced
    FROM (SELECT count(*) AS n, sum(amount_minor) AS total FROM ledger_entries
          WHERE transaction_id = txn GROUP BY currency) AS per_currency;
    IF entries < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has % entries; it needs at least two', txn, entries
            USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced THEN
        RAISE EXCEPTION 'ledger transaction % is unbalanced: its entries do not sum to zero', txn
            USING ERRCODE = 'check_violation';
    END IF;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEDGER_POST)
        op.execute(BALANCED_CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS ledger_post(text, text, text, text, text, text, bigint,"
            " timestamptz, text[], text[], bigint[], integer[], boolean[], integer[], bigint[],"
            " bigint[], integer[])"
        )
