"""Postpaid exposure: rated usage not invoiced yet, and invoices not paid yet.

Postpaid usage is accrued without a ledger posting (the invoice books it), so a running
total per tenant and currency (`accrued_usage`) carries it: rating adds each batch's net,
re-rating adds its difference (where no finalised invoice billed the usage), a usage
adjustment adds its amount while pending (`billing.usage.adjustments`), finalising a
postpaid invoice takes the invoice's net off and records the period it billed (usage of
it rated later is late: `billing.usage.late`). What was invoiced and not paid is the
tenant's `receivable` account. Together they are what a credit limit is measured
against, read in one round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, bindparam, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.ledger.models import Account
from billing.ledger.postings import RECEIVABLE
from billing.usage.models import AccruedUsage, InvoicedPeriod

_accrued = AccruedUsage.__table__
_accounts = Account.__table__


def add_accrued(session: Session, tenant_id: str, currency: str, net_minor: int) -> None:
    """Add (or, negative, take off) net postpaid usage not invoiced yet."""
    if not net_minor:
        return
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    statement = insert(_accrued).values(
        tenant_id=tenant_id, currency=currency, net_minor=net_minor, updated_at=utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=[_accrued.c.tenant_id, _accrued.c.currency],
        set_={
            "net_minor": _accrued.c.net_minor + statement.excluded.net_minor,
            "updated_at": statement.excluded.updated_at,
        },
    )
    session.execute(statement)


def add_accrued_each(session: Session, amounts: dict[tuple[str, str], int]) -> None:
    """`add_accrued` of each (tenant, currency) -> net, in one statement (in key order)."""
    amounts = {key: net for key, net in sorted(amounts.items()) if net}
    if len(amounts) < 2:
        for (tenant_id, currency), net in amounts.items():
            add_accrued(session, tenant_id, currency, net)
        return
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    now = utcnow()
    statement = insert(_accrued).values(
        [{"tenant_id": t, "currency": c, "net_minor": net, "updated_at": now}
         for (t, c), net in amounts.items()]
    )  # fmt: skip
    statement = statement.on_conflict_do_update(
        index_elements=[_accrued.c.tenant_id, _accrued.c.currency],
        set_={
            "net_minor": _accrued.c.net_minor + statement.excluded.net_minor,
            "updated_at": statement.excluded.updated_at,
        },
    )
    session.execute(statement)


def lock_accrued(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    """Lock the running totals of these (tenant, currency) pairs, made if missing.

    Rating and finalising a postpaid invoice both take this lock before reading what the
    other writes (finalised periods, rated usage), so whichever comes second sees all
    the first did (READ COMMITTED). Taken in one order everywhere: no deadlock.
    """
    keys = sorted(set(keys))
    if not keys:
        return
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    now = utcnow()
    rows = [{"tenant_id": t, "currency": c, "net_minor": 0, "updated_at": now} for t, c in keys]
    session.execute(
        insert(_accrued)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[_accrued.c.tenant_id, _accrued.c.currency])
    )
    if is_postgresql(session):
        session.execute(
            select(_accrued.c.tenant_id)
            .where(tuple_(_accrued.c.tenant_id, _accrued.c.currency).in_(keys))
            .order_by(_accrued.c.tenant_id, _accrued.c.currency)
            .with_for_update()
        ).all()


def invoiced(
    session: Session,
    invoice_id: str,
    tenant_id: str,
    currency: str,
    net_minor: int,
    period: tuple[date, date],
) -> None:
    """A postpaid invoice of `net_minor` for `period` was finalised: that usage is no
    longer accrued, and usage of the period rated from now on is late."""
    add_accrued(session, tenant_id, currency, -net_minor)
    session.add(
        InvoicedPeriod(
            invoice_id=invoice_id,
            tenant_id=tenant_id,
            currency=currency,
            period_start=period[0],
            period_end=period[1],
        )
    )


_EXPOSURE = select(
    select(_accrued.c.net_minor)
    .where(
        _accrued.c.tenant_id == bindparam("tenant_id"),
        _accrued.c.currency == bindparam("currency"),
    )
    .scalar_subquery()
    .label("accrued"),
    select(_accounts.c.balance_minor)
    .where(
        _accounts.c.tenant_id == bindparam("tenant_id"),
        _accounts.c.kind == RECEIVABLE,
        _accounts.c.currency == bindparam("currency"),
    )
    .scalar_subquery()
    .label("receivable"),
)


def exposure(connection: Connection, tenant_id: str, currency: str) -> tuple[int, int]:
    """(net usage accrued and not invoiced, gross invoiced and not paid), each >= 0."""
    row = connection.execute(_EXPOSURE, {"tenant_id": tenant_id, "currency": currency}).one()
    # The receivable is debited (negative) by what the tenant owes.
    return max(row.accrued or 0, 0), max(-(row.receivable or 0), 0)
