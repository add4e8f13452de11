"""Importing a settlement statement: one transaction from the file to the booked fees.

The file is hashed first: the same bytes for the same provider are one statement, so
a repeat (an operator's re-send, a second click, the daily job running again) changes
nothing and answers with the first import. Otherwise its lines are parsed and staged,
matched in one statement, exceptions opened for review, and the settled money booked.
A line the parser cannot read refuses the whole file, naming the line and the column.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.core.db import insert_for
from billing.core.errors import InvalidInput, NotFound
from billing.core.ids import new_id
from billing.settlement import books, exceptions, matching, staging
from billing.settlement.formats import FORMATS, OPERATORS, StatementError, parse
from billing.settlement.models import Statement, StatementLine

_statements = Statement.__table__


@dataclass(frozen=True)
class Imported:
    statement: Statement
    reimported: bool  # True: these bytes were imported before; nothing changed


def digest(source: BinaryIO) -> str:
    """The file's SHA-256; the stream is left at its start."""
    source.seek(0)
    hashed = hashlib.sha256()
    while chunk := source.read(1 << 20):
        hashed.update(chunk)
    source.seek(0)
    return hashed.hexdigest()


def import_statement(
    session: Session, *, fmt: str, source: BinaryIO, filename: str, actor: str
) -> Imported:
    """Import and reconcile a statement file (a seekable binary stream) in `session`'s
    transaction; the caller commits."""
    if fmt not in FORMATS:
        raise InvalidInput.on("provider", f"must be one of {', '.join(FORMATS)}")
    sha256 = digest(source)
    statement_id = new_id("stm")
    inserted = session.execute(
        insert_for(session, _statements)
        .values(
            id=statement_id,
            provider=fmt,
            filename=filename[:200],
            sha256=sha256,
            line_count=0,
            totals={},
            imported_by=actor,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(_statements.c.id)
    ).first()
    if inserted is None:  # the same file again (a concurrent twin waited for the first)
        existing = session.execute(
            select(Statement).where(Statement.provider == fmt, Statement.sha256 == sha256)
        ).scalar_one()
        return Imported(existing, reimported=True)
    staged = _stage(session, fmt, source)
    matching.match(session, statement_id)
    period = staged.period()
    if period is not None:
        matching.add_missing_at_provider(session, statement_id, OPERATORS[fmt], period)
    staging.drop(session)
    exceptions.open_review_items(session, statement_id)
    booked = books.book_statement(session, statement_id)
    statement = session.get(Statement, statement_id)
    assert statement is not None
    statement.line_count = staged.lines
    statement.period_start, statement.period_end = period or (None, None)
    statement.totals = {**totals(session, statement_id), "ledger_transactions": booked}
    record(
        session,
        actor=actor,
        action="settlement.statement_imported",
        subject_type="settlement_statement",
        subject_id=statement_id,
        detail={"provider": fmt, "filename": filename[:200], "sha256": sha256,
                "lines": staged.lines, "outcomes": statement.totals["outcomes"]},
    )  # fmt: skip
    return Imported(statement, reimported=False)


def _stage(session: Session, fmt: str, source: BinaryIO) -> staging.Staged:
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        staged = staging.stage(session, parse(fmt, text))
    except StatementError as error:
        where = f"line {error.line_no}: " if error.line_no else ""
        raise InvalidInput(str(error), {error.field: [f"{where}{error.message}"]}) from None
    except UnicodeDecodeError:
        raise InvalidInput.on("file", "not UTF-8 text") from None
    finally:
        text.detach()
    if staged.lines == 0:
        raise InvalidInput.on("file", "the statement has no lines")
    return staged


def totals(session: Session, statement_id: str) -> dict:
    """Counts and sums per outcome: the statement at a glance."""
    rows = session.execute(
        select(
            StatementLine.outcome,
            StatementLine.currency,
            func.count(),
            func.sum(StatementLine.amount_minor),
            func.sum(StatementLine.fee_minor),
        )
        .where(StatementLine.statement_id == statement_id)
        .group_by(StatementLine.outcome, StatementLine.currency)
    )
    outcomes: dict[str, int] = {}
    amounts: dict[str, dict[str, int]] = {}
    for outcome, currency, count, amount, fee in rows:
        outcomes[outcome] = outcomes.get(outcome, 0) + count
        money = amounts.setdefault(currency, {"gross": 0, "fees": 0, "paid_to_bank": 0})
        if outcome == "matched":
            money["gross"] += int(amount)
            money["fees"] += int(fee)
        elif outcome == "fee_unlinked":
            money["fees"] += int(amount)
        elif outcome == "payout":
            money["paid_to_bank"] += int(amount)
    return {"outcomes": outcomes, "settled": amounts}


def get_statement(session: Session, statement_id: str) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise NotFound(f"reconciliation {statement_id} not found")
    return statement


def list_statements(session: Session, *, provider: str | None, limit: int) -> list[Statement]:
    query = select(Statement).order_by(Statement.created_at.desc(), Statement.id.desc())
    if provider is not None:
        query = query.where(Statement.provider == provider)
    return list(session.execute(query.limit(limit)).scalars())


def list_lines(
    session: Session, statement_id: str, *, outcome: str | None, after: int | None, limit: int
) -> list[StatementLine]:
    query = (
        select(StatementLine)
        .where(StatementLine.statement_id == statement_id)
        .order_by(StatementLine.id)
        .limit(limit)
    )
    if outcome is not None:
        query = query.where(StatementLine.outcome == outcome)
    if after is not None:
        query = query.where(StatementLine.id > after)
    return list(session.execute(query).scalars())
