"""ledger_post() may be given its transaction's and entries' ids, numbered ahead

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-08 00:00:00

A batch of usage is stored with the ledger ids of its debit (`ledger_transaction_id`,
`ledger_entry_id`). Until now they were known only once the debit was posted, and the
debit takes the wallet's row lock, held to COMMIT: so the batch's COPY ran under the
lock, and two importers of the same tenants stored their rows in turn. Numbered ahead
from the tables' own sequences, the rows are stored first and the wallet locked last.

Two optional arguments at the end, `p_id` and `e_ids` (one per entry, NULL: numbered
here); a call without them is the function as before. An id given must come from the
sequence already (at most its last value), so that no later nextval can meet it.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_ARGS = (
    "text, text, text, text, text, text, bigint, timestamptz, text[], text[],"
    " bigint[], integer[], boolean[], integer[], bigint[], bigint[], integer[]"
)
BEFORE = f"ledger_post({_ARGS})"
AFTER = f"ledger_post({_ARGS}, bigint, bigint[])"


def _migration_0033():
    path = Path(__file__).with_name("0033_ledger_check_once.py")
    spec = importlib.util.spec_from_file_location("ledger_check_once_0033", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _edit(body: str, old: str, new: str) -> str:
    assert body.count(old) == 1, f"0033's ledger_post() moved: {old!r}"
    return body.replace(old, new)


_GUARD = """
    -- 0. Ids numbered ahead come from the sequences: none a later nextval could give.
    IF p_id > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
                 FROM ledger_transactions_id_seq)
       OR (SELECT max(i) FROM unnest(e_ids) AS i) >
          (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
             FROM ledger_entries_id_seq) THEN
        RAISE EXCEPTION 'ledger ids numbered ahead must come from the ledger''s sequences'
            USING ERRCODE = 'check_violation';
    END IF;
"""


def _numbered_ahead() -> str:
    """0033's function with `p_id` and `e_ids`, numbered here when NULL."""
    body = _migration_0033()._ledger_post_saying_so()
    body = _edit(
        body,
        "    e_version_offsets integer[]\n)",
        "    e_version_offsets integer[],\n"
        "    -- numbered ahead from the tables' sequences, or NULL (numbered here):\n"
        "    p_id bigint DEFAULT NULL, e_ids bigint[] DEFAULT NULL\n)",
    )
    body = _edit(body, "BEGIN\n    -- 1.", "BEGIN" + _GUARD + "\n    -- 1.")
    body = _edit(
        body,
        "INSERT INTO ledger_transactions (tenant_id,",
        "INSERT INTO ledger_transactions (id, tenant_id,",
    )
    body = _edit(
        body,
        "    VALUES (p_tenant, p_key,",
        "    VALUES (coalesce(p_id, nextval('ledger_transactions_id_seq')), p_tenant, p_key,",
    )
    body = _edit(
        body,
        "INSERT INTO ledger_entries (transaction_id,",
        "INSERT INTO ledger_entries (id, transaction_id,",
    )
    body = _edit(
        body,
        "    SELECT txn, ids[e.account],",
        "    SELECT coalesce(e.id, nextval('ledger_entries_id_seq')), txn, ids[e.account],",
    )
    return _edit(
        body,
        "unnest(e_accounts, e_amounts, e_balance_offsets, e_version_offsets)\n"
        "         AS e(account, amount, balance_offset, version_offset)",
        "unnest(e_accounts, e_amounts, e_balance_offsets, e_version_offsets, e_ids)\n"
        "         AS e(account, amount, balance_offset, version_offset, id)",
    ).replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {BEFORE}")
        op.execute(_numbered_ahead())
        op.execute(f"ALTER FUNCTION {AFTER} SECURITY DEFINER SET search_path = public, pg_temp")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {AFTER}")
        op.execute(_migration_0033()._ledger_post_saying_so())
        op.execute(f"ALTER FUNCTION {BEFORE} SECURITY DEFINER SET search_path = public, pg_temp")
