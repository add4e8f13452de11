"""Matching a staged statement to the top-ups, set-based: one INSERT … SELECT writes every
line with its outcome, whatever the statement's size, on PostgreSQL and SQLite alike.

A payment line finds its top-up by our reference (which every adapter sends the
provider), else by the provider's transaction id, always within the same operator.
Then: a top-up already settled by an earlier line or statement makes it a duplicate;
a top-up we never credited makes it missing in Malipo; a credited one with another
currency or amount is a mismatch; otherwise it is matched. A charge row is the fee of
the payment it links to. Credited top-ups of the statement's days that no statement
lists are added as missing at the provider.

The statement that writes `settlement_lines` never reads it. "Settled before" is found
first, in a statement of its own, into a small keyed table: a lookup from the INSERT into
its own target would be a scan per line whenever the planner believes the table empty
(ANALYZEd empty, as on a first import), and each scan would walk the lines the INSERT
wrote so far, unseen but read: quadratic (10,000 lines 0.49 s, 20,000 lines 2.1 s).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.core.db import is_postgresql
from billing.settlement.staging import STAGING

CREDITED = ("succeeded", "refunded")
# A top-up a line of these outcomes names is settled: listing it again is a duplicate.
_SETTLING = ("matched", "amount_mismatch", "currency_mismatch", "missing_in_malipo")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)  # constants of this module only


SETTLED = "settlement_settled"  # the top-ups the statement names that are settled already
_CREATE_SETTLED = {
    "postgresql": f"CREATE TEMPORARY TABLE {SETTLED} (topup_id varchar(40) PRIMARY KEY) "
    "ON COMMIT DROP",
    "sqlite": f"CREATE TEMPORARY TABLE {SETTLED} (topup_id TEXT PRIMARY KEY)",
}
_DROP_SETTLED = {
    "postgresql": f"DROP TABLE IF EXISTS pg_temp.{SETTLED}",
    "sqlite": f"DROP TABLE IF EXISTS temp.{SETTLED}",
}
# The top-up each payment line finds, as the INSERT below finds it ({by_txn}, per dialect).
_SETTLED_BEFORE = f"""
INSERT INTO {SETTLED} (topup_id)
SELECT DISTINCT o.topup_id{{c}} FROM settlement_lines o
WHERE o.kind = 'payment' AND o.outcome IN ({_quoted(_SETTLING)})
  AND o.topup_id IN (
      SELECT COALESCE(tr.id, tx.id) FROM {STAGING} s
      LEFT JOIN topups tr
          ON s.kind = 'payment' AND tr.reference = s.reference AND tr.provider = s.provider
      {{by_txn}}
      WHERE s.kind = 'payment'
  )
"""

# Only this module's constants are formatted into the statements; values are bound.
# {by_txn} finds the top-up by transaction id for the lines the reference did not find,
# {c} sorts top-up ids bytewise (both per dialect, below).
_MATCH = f"""
WITH f AS (
    SELECT linked_txn_id, CAST(SUM(amount_minor) AS BIGINT) AS fee FROM {STAGING}
    WHERE kind = 'fee' AND linked_txn_id IS NOT NULL GROUP BY linked_txn_id
), p AS (
    SELECT DISTINCT pa.provider_txn_id FROM {STAGING} pa
    JOIN f ON f.linked_txn_id = pa.provider_txn_id
    WHERE pa.kind = 'payment'
)
INSERT INTO settlement_lines (
    statement_id, line_no, kind, provider, provider_txn_id, reference, msisdn, amount_minor,
    fee_minor, currency, occurred_at, day, linked_txn_id, outcome, topup_id, tenant_id,
    expected_amount_minor, expected_currency)
SELECT :statement_id, m.line_no, m.kind, m.provider, m.provider_txn_id, m.reference, m.msisdn,
    m.amount_minor, m.fee_minor, m.currency, m.occurred_at, m.day, m.linked_txn_id,
    CASE
        WHEN m.kind = 'fee' THEN CASE WHEN m.links THEN 'fee' ELSE 'fee_unlinked' END
        WHEN m.kind = 'payout' THEN 'payout'
        WHEN m.kind <> 'payment' THEN 'ignored'
        WHEN m.t_id IS NULL THEN 'unknown_payment'
        WHEN m.nth > 1 OR EXISTS (SELECT 1 FROM {SETTLED} sb WHERE sb.topup_id = m.t_id)
            THEN 'duplicate'
        WHEN m.t_status NOT IN ({_quoted(CREDITED)}) THEN 'missing_in_malipo'
        WHEN m.t_currency <> m.currency THEN 'currency_mismatch'
        WHEN m.t_amount <> m.amount_minor THEN 'amount_mismatch'
        ELSE 'matched'
    END,
    m.t_id, m.t_tenant, m.t_amount, m.t_currency
FROM (
    SELECT j.*,
        ROW_NUMBER() OVER (PARTITION BY j.t_id{{c}} ORDER BY j.line_no) AS nth
    FROM (
        SELECT s.line_no, s.kind, s.provider, s.provider_txn_id, s.reference, s.msisdn,
            s.amount_minor, s.fee_minor + COALESCE(f.fee, 0) AS fee_minor, s.currency,
            s.occurred_at, s.day, s.linked_txn_id, p.provider_txn_id IS NOT NULL AS links,
            COALESCE(tr.id, tx.id) AS t_id,
            COALESCE(tr.tenant_id, tx.tenant_id) AS t_tenant,
            COALESCE(tr.status, tx.status) AS t_status,
            COALESCE(tr.amount_minor, tx.amount_minor) AS t_amount,
            COALESCE(tr.currency, tx.currency) AS t_currency
        FROM {STAGING} s
        LEFT JOIN topups tr
            ON s.kind = 'payment' AND tr.reference = s.reference AND tr.provider = s.provider
        {{by_txn}}
        LEFT JOIN f ON s.kind = 'payment' AND f.linked_txn_id = s.provider_txn_id
        LEFT JOIN p ON s.kind = 'fee' AND p.provider_txn_id = s.linked_txn_id
    ) j
) m
"""
_BY_TXN = {
    # Joined to every line, the whole of `topups` would be hashed a second time for the
    # few lines the reference leaves unmatched: instead an index probe for those only
    # (OFFSET 0 keeps the subquery a lateral probe; its outer-only condition gates it).
    "postgresql": """LEFT JOIN LATERAL (
            SELECT x.id, x.tenant_id, x.status, x.amount_minor, x.currency FROM topups x
            WHERE s.kind = 'payment' AND tr.id IS NULL
              AND x.provider = s.provider AND x.provider_txn_id = s.provider_txn_id
            OFFSET 0
        ) tx ON true""",
    "sqlite": """LEFT JOIN topups tx
            ON s.kind = 'payment' AND tr.id IS NULL
            AND tx.provider = s.provider AND tx.provider_txn_id = s.provider_txn_id""",
}
# Bytewise comparison sorts a million ids several times faster than a locale's.
_BYTEWISE = {"postgresql": ' COLLATE "C"', "sqlite": ""}

_LOCAL_DAY = {
    "postgresql": "to_char(t.created_at AT TIME ZONE 'Africa/Dar_es_Salaam', 'YYYY-MM-DD')",
    "sqlite": "strftime('%Y-%m-%d', t.created_at, '+3 hours')",
}

_MISSING = """
INSERT INTO settlement_lines (
    statement_id, line_no, kind, provider, provider_txn_id, reference, msisdn, amount_minor,
    fee_minor, currency, occurred_at, day, linked_txn_id, outcome, topup_id, tenant_id,
    expected_amount_minor, expected_currency)
SELECT :statement_id, NULL, 'missing', t.provider, t.provider_txn_id, t.reference, t.msisdn, 0,
    0, t.currency, t.created_at, {day}, NULL, 'missing_at_provider', t.id, t.tenant_id,
    t.amount_minor, t.currency
FROM topups t
WHERE t.provider IN ({operators}) AND t.status IN ({credited})
  AND t.created_at >= :start AND t.created_at < :end
  AND NOT EXISTS (
      SELECT 1 FROM settlement_lines o WHERE o.topup_id = t.id AND o.kind IN ('payment', 'missing')
  )
"""


def match(session: Session, statement_id: str) -> None:
    """Every staged line into `settlement_lines`, with its outcome and top-up."""
    if is_postgresql(session):
        # JIT-compiling this plan costs seconds and saves none: the joins are hash joins
        # over the whole statement, not expression-bound loops. Its hashes and its sort
        # (duplicates within the file) fit in memory rather than spilling to disk.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        # The staging table is new: without statistics the planner guesses its size
        # (and the fees' share) and may pick a plan made for a few rows.
        session.execute(text(f"ANALYZE {STAGING}"))
    dialect = "postgresql" if is_postgresql(session) else "sqlite"
    session.execute(text(_DROP_SETTLED[dialect]))
    session.execute(text(_CREATE_SETTLED[dialect]))
    session.execute(text(_SETTLED_BEFORE.format(by_txn=_BY_TXN[dialect], c=_BYTEWISE[dialect])))
    if dialect == "postgresql":
        session.execute(text(f"ANALYZE {SETTLED}"))  # its true size, often none
    sql = _MATCH.format(by_txn=_BY_TXN[dialect], c=_BYTEWISE[dialect])
    session.execute(text(sql), {"statement_id": statement_id})
    session.execute(text(_DROP_SETTLED[dialect]))


def add_missing_at_provider(
    session: Session,
    statement_id: str,
    operators: tuple[str, ...],
    period: tuple[datetime, datetime],
) -> None:
    """Credited top-ups of the operators, made in the period, that no statement lists."""
    dialect = "postgresql" if is_postgresql(session) else "sqlite"
    sql = _MISSING.format(
        day=_LOCAL_DAY[dialect],
        operators=", ".join(f":op{i}" for i in range(len(operators))),
        credited=_quoted(CREDITED),
    )
    params = {f"op{i}": code for i, code in enumerate(operators)}
    session.execute(
        text(sql), {"statement_id": statement_id, "start": period[0], "end": period[1], **params}
    )
