"""The ledger's balance check: each transaction checked once at COMMIT, in one query

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 07:00:00

Until now a two-entry transaction ran the deferred check three times at COMMIT (one
constraint trigger per ledger_transactions row and one per ledger_entries row), each a
trigger calling `ledger_assert_balanced()` through a nested PERFORM.

- Every trigger runs one plain aggregate itself (count, sum, lowest and highest
  currency); `ledger_assert_balanced()` (grouped by currency, with the messages) runs
  only when that says something may be wrong, or for a mix of currencies.
- An entry `ledger_post()` inserts queues no check of its own: its transaction's check
  covers it. `ledger_post()` inserts its transaction in the same call, before its
  entries, so that transaction's own deferred check is queued and can only fire after
  the call (fired early by SET CONSTRAINTS ... IMMEDIATE, it fires right after the
  transaction row's INSERT, sees no entry, and refuses). `ledger_post()` runs as its
  owner (SECURITY DEFINER, a fixed search_path) and says `malipo.ledger_post = on`
  around its one INSERT of entries (a transaction-local setting: an error rolls it
  back with the statement); the entries' trigger is skipped only when both hold
  (`WHEN`), which no other caller can arrange: the service's role may set the setting
  but is not the owner, and the owner's own statements (a migration, a console) do not
  set it. Every other entry (a console's INSERT, an entry added to a posted
  transaction) is checked as before.
"""

import importlib.util
from pathlib import Path

from alembic import op


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

LEDGER_POST = (
    "ledger_post(text, text, text, text, text, text, bigint, timestamptz, text[], text[],"
    " bigint[], integer[], boolean[], integer[], bigint[], bigint[], integer[])"
)

# The plain aggregate first; the grouped check (and its messages) only when it is needed.
_ONE_QUERY = """
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entries bigint;
    total numeric;
    lowest text;
    highest text;
BEGIN
    SELECT count(*), sum(amount_minor), min(currency), max(currency)
      INTO entries, total, lowest, highest
      FROM ledger_entries WHERE transaction_id = NEW.{column};
    IF entries < 2 OR lowest <> highest OR total <> 0 THEN
        PERFORM ledger_assert_balanced(NEW.{column});
    END IF;
    RETURN NULL;
END $$;
"""



def _ledger_post_0002() -> str:
    path = Path(__file__).with_name("0002_ledger_post_function.py")
    spec = importlib.util.spec_from_file_location("ledger_post_0002", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LEDGER_POST.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


_ENTRIES = "    -- 3. The entries"
_RETURN = "    RETURN txn;\nEND $$;"


def _ledger_post_saying_so() -> str:
    """0002's function, with the setting on around its INSERT of entries."""
    body = _ledger_post_0002()
    assert body.count(_ENTRIES) == 1 and body.count(_RETURN) == 1, "0002's text moved"
    body = body.replace(_ENTRIES, "    PERFORM set_config('malipo.ledger_post', 'on', true);\n" + _ENTRIES)
    return body.replace(
        _RETURN, "    PERFORM set_config('malipo.ledger_post', 'off', true);\n" + _RETURN
    )


ONCE = (
    _ledger_post_saying_so()
    + _ONE_QUERY.format(name="ledger_entry_balanced", column="transaction_id")
    + _ONE_QUERY.format(name="ledger_transaction_balanced", column="id")
    + f"""
ALTER FUNCTION {LEDGER_POST} SECURITY DEFINER SET search_path = public, pg_temp;
DROP TRIGGER ledger_entries_balanced ON ledger_entries;
DO $$ BEGIN
    EXECUTE format(
        'CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries'
        ' DEFERRABLE INITIALLY DEFERRED FOR EACH ROW'
        ' WHEN (current_user <> %L OR current_setting(''malipo.ledger_post'', true)'
        ' IS DISTINCT FROM ''on'') EXECUTE FUNCTION ledger_entry_balanced()',
        (SELECT proowner::regrole::text FROM pg_proc WHERE oid = '{LEDGER_POST}'::regprocedure));
END $$;
"""
)

# Migration 0001's triggers and trigger functions: every row checked at COMMIT.
PER_ROW = _ledger_post_0002() + f"""
ALTER FUNCTION {LEDGER_POST} SECURITY INVOKER RESET ALL;
DROP TRIGGER ledger_entries_balanced ON ledger_entries;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM ledger_assert_balanced(NEW.transaction_id); RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM ledger_assert_balanced(NEW.id); RETURN NULL; END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ONCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PER_ROW)
