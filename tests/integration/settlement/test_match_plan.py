"""The match stays linear whatever the planner believes of `settlement_lines`.

A first import on a fresh deployment meets `settlement_lines` ANALYZEd while empty. If
the statement that writes the lines also looks them up ("settled before"), the planner
takes a scan per line for the cheapest plan; each scan then walks every line the INSERT
wrote so far (unseen, but read): a million-line import took over 5 CPU-minutes.

Here `settlement_lines` is an empty, ANALYZEd table of the same shape and indexes (a
temporary table of the transaction, in front of the real one on the search path, so the
shared test database's lines stay out of it), and a statement of 20,000 payments is
imported into it. The matching INSERT's plan must read `settlement_lines` nowhere (the
old statement's plan: a SubPlan with a Seq Scan on settlement_lines, once per line). A
statement timeout keeps a plan gone wrong from hanging the suite.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import date

import pytest
from sqlalchemy import event, func, select, text

from billing.settlement.models import StatementLine
from billing.settlement.service import import_statement
from tests.integration.settlement.statements import (
    a_day,
    at,
    major,
    make_topup,
    mpesa_paid,
    mpesa_statement,
)

pytestmark = pytest.mark.integration

LINES = 20_000
# The linear match takes well under a second here; the quadratic one 2.1 s for 20,000
# lines, growing with the square of the lines (a million: minutes).
TIMEOUT = "30s"
EMPTY_LINES = """CREATE TEMPORARY TABLE settlement_lines
    (LIKE public.settlement_lines INCLUDING ALL) ON COMMIT DROP"""
IN_SHARED = "SELECT count(*) FROM public.settlement_lines WHERE statement_id = :id"
READS_LINES = re.compile(r"Scan.* on settlement_lines")


def _payments(tenant_id: str, day: date, prefix: str) -> tuple[str, list[str]]:
    """SQL making LINES credited top-ups of `day`, and the statement rows paying them."""
    make = text("""
        INSERT INTO topups (id, tenant_id, reference, provider, msisdn, amount_minor,
            currency, status, initiation, provider_txn_id, initiate_attempts, checks,
            created_at, updated_at)
        SELECT 'top_' || :prefix || n, :tenant, :prefix || 'R' || n, 'mpesa', '255754000111',
            100000, 'TZS', 'succeeded', 'sent', :prefix || 'T' || n, 0, 0, :at, now()
        FROM generate_series(1, :lines) n
    """)  # fmt: skip
    stamp = f"{at(day, 10):%d-%m-%Y %H:%M:%S}"
    rows = [
        f'{prefix}T{n},{stamp},{stamp},Pay Bill Online,Completed,"{major(100000)}",,'
        f'"1,000,000.00",true,Pay Bill Online,255754000111 - JANE DOE,,{prefix}R{n}'
        for n in range(1, LINES + 1)
    ]
    return make, rows


def test_a_first_import_into_an_analyzed_empty_table_is_matched_linearly(sessions, tenant):
    day = a_day()
    prefix = uuid.uuid4().hex[:10].upper()
    make, rows = _payments(tenant.tenant_id, day, prefix)
    plans: list[str] = []
    with sessions() as session:
        session.begin()
        session.execute(text(EMPTY_LINES))
        session.execute(text("ANALYZE pg_temp.settlement_lines"))
        session.execute(make, {"prefix": prefix, "tenant": tenant.tenant_id,
                               "at": at(day, 9), "lines": LINES})  # fmt: skip
        session.execute(text("ANALYZE topups"))
        connection = session.connection()

        @event.listens_for(connection, "before_cursor_execute")
        def explain(_conn, cursor, statement, parameters, _context, _many) -> None:
            if re.search(r"INSERT INTO settlement_lines\b", statement):
                cursor.execute("EXPLAIN " + statement, parameters)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))

        session.execute(text(f"SET LOCAL statement_timeout = '{TIMEOUT}'"))
        imported = import_statement(
            session, fmt="mpesa", source=io.BytesIO(mpesa_statement(day, rows)),
            filename="first.csv", actor="test",
        )  # fmt: skip
        event.remove(connection, "before_cursor_execute", explain)
        matched = session.scalar(
            select(func.count())
            .select_from(StatementLine)
            .where(StatementLine.statement_id == imported.statement.id,
                   StatementLine.outcome == "matched")
        )  # fmt: skip
        real = session.scalar(text(IN_SHARED), {"id": imported.statement.id})
        session.rollback()
    assert real == 0, "the lines went to the empty table, not the shared one"
    assert matched == LINES
    match_plan = plans[0]
    assert "Insert on settlement_lines" in match_plan
    reads = [line for line in match_plan.splitlines() if READS_LINES.search(line)]
    assert reads == [], match_plan


def test_settled_before_is_found_whichever_way_the_later_line_names_the_top_up(
    runtime, sessions, tenant
):
    """The settled top-ups are gathered before matching, by reference and by transaction
    id: a later line naming the top-up only by its transaction id is a duplicate too."""
    day = a_day()
    topup = make_topup(runtime, tenant.tenant_id, day, amount=5_000_00)
    first = mpesa_statement(day, [mpesa_paid(topup, day)])
    by_txn = mpesa_paid(topup, day, minute=9).rsplit(",", 1)[0] + ",NOTOURREF"
    later = mpesa_statement(day, [by_txn])
    outcomes = []
    for name, body in (("first.csv", first), ("later.csv", later)):
        with sessions() as session, session.begin():
            imported = import_statement(
                session, fmt="mpesa", source=io.BytesIO(body), filename=name, actor="test"
            )
            outcomes.append(
                session.execute(
                    select(StatementLine.outcome, StatementLine.topup_id).where(
                        StatementLine.statement_id == imported.statement.id,
                        StatementLine.kind == "payment",
                    )
                ).all()
            )
    assert outcomes == [[("matched", topup.id)], [("duplicate", topup.id)]]
