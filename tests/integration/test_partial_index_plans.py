"""Reads of a partial index's rows use the index under a generic plan too.

psycopg prepares a statement on its fifth run on a connection, and PostgreSQL may then
plan it once for every value of its parameters. Such a plan can use a partial index
(`WHERE status = 'open'`) only if the query states the predicate as a constant
(`billing.core.db.written`); with the status bound, it read every reservation ever held:
an authorisation's answer slowed from 1.0 to 2.2 ms over 12,000 holds (before the fix).
Each statement here is planned generic, with sequential scans priced out, and its plan
must name the partial index.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from psycopg import sql
from sqlalchemy import Connection, bindparam, func, select

from billing.core.db import written
from billing.invoicing.models import AWAITING_TRA, Invoice
from billing.tariffs.budgets import BALANCE, WALLET_AND_BUNDLES
from billing.usage import reservations
from billing.usage.models import Reservation, UsageStatus
from billing.usage.rating import RATE_COLUMNS
from billing.usage.retries import waiting_query

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 7, tzinfo=UTC)
_reservations = Reservation.__table__


def generic_plan(connection: Connection, query: str, values: list) -> str:
    """EXPLAIN of `query` ($1… placeholders) as a generic plan, sequential scans priced
    out (so a plan that can use the index does)."""
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(sql.SQL("PREPARE generic_plan AS {}").format(sql.SQL(query)))
        arguments = sql.SQL(", ").join(map(sql.Literal, values))  # EXECUTE's own: typed
        cursor.execute(sql.SQL("EXPLAIN EXECUTE generic_plan({})").format(arguments))
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE generic_plan")
    return plan


def statement_plan(connection: Connection, statement, values: dict) -> str:
    """`generic_plan` of a SQLAlchemy statement, its named parameters made positional."""
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    names: list[str] = []

    def positional(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", positional, compiled.string)
    given = {**compiled.params, **values}
    return generic_plan(connection, sql, [given[name] for name in names])


HELD = {"tenant_id": "ten_1", "now": NOW, "currency": "TZS"}
READS = {
    "money and bundle units held": (reservations._HELD, HELD, "ix_reservations_open"),
    "bundle draws held": (reservations._HELD_DRAWS, HELD, "ix_reservations_open"),
    "authorise: balance less held": (BALANCE, HELD, "ix_reservations_open"),
    "authorise: wallet and bundles": (WALLET_AND_BUNDLES, HELD, "ix_reservations_open"),
    **{
        f"sweeper: {status.value}": (
            waiting_query(RATE_COLUMNS, status, None),
            {},
            "_status_id_idx",
        )
        for status in (UsageStatus.PENDING, UsageStatus.REJECTED, UsageStatus.UNBILLED)
    },
    "fiscal queue head": (
        select(Invoice.id).where(Invoice.efd_serial == bindparam("serial"), AWAITING_TRA),
        {"serial": "10TZ100001"},
        "ix_invoices_fiscal_queue",
    ),
}


@pytest.mark.parametrize("name", READS)
def test_a_partial_index_serves_its_reads_under_a_generic_plan(sessions, name):
    statement, values, index = READS[name]
    with sessions() as session, session.begin():
        plan = statement_plan(session.connection(), statement, values)
    assert index in plan, plan


def test_a_re_authorisation_releases_by_the_open_session_index(sessions):
    with sessions() as session, session.begin():
        sql = reservations.RELEASE.replace("%s", "{}").format("$1", "$2", "$3", "$4")
        plan = generic_plan(session.connection(), sql, ["released", NOW, "ten_1", "s-1"])
    assert "uq_reservations_open_session" in plan, plan


def test_the_check_catches_a_bound_status(sessions):
    """The planted break: the same read with the status bound gets no partial index."""
    bound = select(func.count()).where(
        _reservations.c.tenant_id == bindparam("tenant_id"),
        _reservations.c.status == "open",
        _reservations.c.expires_at > bindparam("now"),
    )
    stated = bound.where(_reservations.c.status == written("open"))
    with sessions() as session, session.begin():
        assert "ix_reservations_open" not in statement_plan(session.connection(), bound, HELD)
        assert "ix_reservations_open" in statement_plan(session.connection(), stated, HELD)
