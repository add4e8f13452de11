"""Re-rating a tenant's period with the plan in force now (a corrected plan).

Each current record of the period is priced again. Where the price is unchanged,
nothing happens; where it changed, the new price is written as a new row (revision + 1)
and the old row is marked `superseded` with a pointer to it, its figures untouched.
For a prepaid tenant the difference goes through the ledger in one transaction: the old
charges credited back and the new ones debited (what the wallet cannot pay stays
`unbilled`). Running it again finds every price unchanged and posts nothing.

Bundles: the period's rows give their draws back first and are priced again in order
of occurrence, drawing afresh; a row whose draws differ counts as changed, so the
balances always equal the draws of the current rows. A postpaid tenant's accrued total
moves by the difference, except where a finalised invoice billed the usage already: the
caller names those windows (`invoiced`) and settles their differences with the invoice
(`billing.invoicing.rerating`), from the `changes` the summary lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.tenants.models import BillingMode
from billing.tenants.service import get_tenant
from billing.usage.accruals import add_accrued, lock_accrued
from billing.usage.bundle_balances import BundleBook, stored_draws
from billing.usage.debits import Charge, vat_on
from billing.usage.intake_rows import STORED_COLUMNS
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.rating import (
    price,
    write_results,
)
from billing.usage.settling import RowResult, after_settling, settle_prepaid
from billing.usage.statements import period_bounds
from billing.usage.tariff_lookup import Tariffs

_records = UsageRecord.__table__
CURRENT = (UsageStatus.BILLED.value, UsageStatus.ACCRUED.value, UsageStatus.UNBILLED.value)


@dataclass(frozen=True)
class PriceChange:
    """A record priced again: where it was and is billed, and for how much (net)."""

    occurred_at: datetime
    service: str
    old_zone: str
    zone: str
    old_net_minor: int
    net_minor: int


@dataclass(frozen=True)
class RerateSummary:
    examined: int
    changed: int
    unratable: int
    net_difference: int  # new net - old net over the changed rows
    ledger_transaction_id: int | None
    credit_note_ids: list[str] = field(default_factory=list)
    adjustments_minor: int = 0  # increases on finalised invoices, billed by the next one
    changes: tuple[PriceChange, ...] = field(default=(), repr=False)


def rerate_period(
    session: Session,
    tenant_id: str,
    start: date,
    end: date,
    invoiced: Sequence[tuple[datetime, datetime]] = (),
) -> RerateSummary:
    """Price the period again; `invoiced` are the `[since, until)` windows whose postpaid
    usage a finalised invoice billed: their differences leave the accrued total alone."""
    tenant = get_tenant(session, tenant_id)
    since, until = period_bounds(start, end)
    query = (
        select(_records)
        .where(
            _records.c.tenant_id == tenant_id,
            _records.c.occurred_at >= since,
            _records.c.occurred_at < until,
            _records.c.status.in_(CURRENT),
        )
        .order_by(_records.c.occurred_at, _records.c.id)
    )
    if is_postgresql(session):
        query = query.with_for_update()
    rows = list(session.execute(query))
    now = utcnow()
    tariffs = Tariffs(session)
    tariffs.prepare(rows)
    # What the corrected plan can price (bundles aside: they never make a record unpriceable).
    priceable = [row for row in rows if price(row, tenant, tariffs, now)["status"] is None]
    bundles = _bundles_given_back(session, tenant.id, priceable, tariffs)
    changed = []
    for row in priceable:
        fields = price(row, tenant, tariffs, now, bundles)
        if (
            fields["net_minor"] != row.net_minor
            or fields["zone"] != row.zone
            or fields["breakdown"]["bundle_draws"] != stored_draws(row.breakdown)
        ):
            changed.append((row, fields))  # a row left as it is drew the same again
    unratable = len(rows) - len(priceable)
    bundles.flush()
    if not changed:
        return RerateSummary(len(rows), 0, unratable, 0, None)

    new_ids = _insert_revisions(session, [row for row, _ in changed])
    results = [
        RowResult(new_id, fields) for new_id, (_, fields) in zip(new_ids, changed, strict=True)
    ]
    transaction_id = None
    settled = {}
    if tenant.billing_mode is BillingMode.POSTPAID:
        for result in results:
            result.fields["status"] = UsageStatus.ACCRUED.value
        # Locked even if the total does not move (all of it invoiced): the caller then
        # settles with pending adjustments, which a finalise locks after this row too.
        lock_accrued(session, [(tenant.id, tenant.currency.value)])
        add_accrued(
            session,
            tenant.id,
            tenant.currency.value,
            sum(
                f["net_minor"] - (row.net_minor or 0)
                for row, f in changed
                if not any(since <= row.occurred_at < until for since, until in invoiced)
            ),
        )
    else:
        for result in results:
            result.fields["vat_minor"] = vat_on(result.fields["net_minor"])
        refunds = [
            Charge(row.id, row.net_minor, row.vat_minor or 0)
            for row, _ in changed
            if row.status == UsageStatus.BILLED.value and row.net_minor
        ]
        settlement = settle_prepaid(
            session, tenant, results, key=f"usage-rerate:{new_ids[0]}", refunds=refunds
        )
        settled[tenant.id] = settlement
        transaction_id = settlement.transaction_id
    write_results(session, results)
    session.execute(
        update(_records)
        .where(_records.c.id == bindparam("b_id"))
        .values(status=UsageStatus.SUPERSEDED.value, superseded_by_id=bindparam("b_new")),
        [
            {"b_id": row.id, "b_new": new_id}
            for (row, _), new_id in zip(changed, new_ids, strict=True)
        ],
        execution_options={"synchronize_session": False},
    )
    after_settling(session, settled)
    difference = sum(f["net_minor"] - row.net_minor for row, f in changed)
    changes = tuple(
        PriceChange(
            row.occurred_at, row.service, row.zone, f["zone"], row.net_minor or 0, f["net_minor"]
        )
        for row, f in changed
    )
    return RerateSummary(
        len(rows), len(changed), unratable, difference, transaction_id, changes=changes
    )


def _bundles_given_back(session: Session, tenant_id: str, rows, tariffs: Tariffs) -> BundleBook:
    """The balances these rows drew on and may draw on now, locked, with the rows' old
    draws given back: re-pricing draws afresh, so nothing is drawn twice."""
    book = BundleBook(session)
    for row in rows:
        book.need_stored(tenant_id, stored_draws(row.breakdown))
        tariff = tariffs.at(tenant_id, row.occurred_at)
        if tariff is not None and tariff.plan.bundles:
            book.need(tenant_id, tariff.plan, row.occurred_at)
    book.lock()
    for row in rows:
        book.give_back(tenant_id, stored_draws(row.breakdown))
    return book


def _insert_revisions(session: Session, rows) -> list[int]:
    """The replacement rows: the same usage, the next revision, pending until written."""
    ids = []
    for row in rows:
        values = {name: getattr(row, name) for name in STORED_COLUMNS}
        values.update(revision=row.revision + 1, status=UsageStatus.PENDING.value, reason=None)
        ids.append(
            session.execute(insert(_records).values(values).returning(_records.c.id)).scalar_one()
        )
    return ids
