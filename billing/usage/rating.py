"""Rating stored records: the pure rater over the tenant's tariff, then the debit.

`rate_rows` takes rows claimed by the caller (locked, status pending) and leaves each
one rated (`billed` / `accrued` / `unbilled`) or `rejected` with the reason. Prepaid
rows of a tenant are settled in one ledger transaction; postpaid rows accumulate net
for the invoice (and in the tenant's accrued total, which its credit limit is measured
against), or, when their period's invoice was finalised already, for the next invoice as
pending adjustments (`late`). Records draw on the tenant's bundles first
(`bundle_balances`: locked before any wallet, written with the rows). Everything happens
in the caller's transaction, so a crash leaves the rows pending and a re-run rates them
once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.rating.message_status import (
    MESSAGE_SERVICES,
    is_final,
    statuses_seen,
)
from billing.tenants.models import Tenant
from billing.usage.accruals import add_accrued_each, lock_accrued
from billing.usage.bulk import copy_update
from billing.usage.bundle_balances import BundleBook
from billing.usage.debits import Settlement, vat_on
from billing.usage.late import take_late_usage
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.parking import review_out_of_range
from billing.usage.prepricing import Prepriced, holding, tenant_views
from billing.usage.reservations import settle_for_usage
from billing.usage.row_prices import (  # noqa: F401  (re-exported: rating's per-row half)
    _RESULT_FIELDS,
    _TenantView,
    price,
    rater_record,
    unit_of,
)
from billing.usage.settling import (
    SETTLED_FIELDS,
    Forecast,
    RowResult,
    after_settling,
    forecast_prepaid_each,
    settle_as_forecast,
    settle_prepaid_each,
)
from billing.usage.tariff_lookup import Tariffs

_records = UsageRecord.__table__
_ACCRUED = UsageStatus.ACCRUED.value  # an enum's value is a property: read once
_new_tuple = tuple.__new__  # a NamedTuple from its values in order, without keywords
RATE_COLUMNS = (
    _records.c.id, _records.c.tenant_id, _records.c.service, _records.c.to_number,
    _records.c.occurred_at, _records.c.billable_s, _records.c.units, _records.c.disposition,
    _records.c.category, _records.c.pricing_type, _records.c.answered_at,
    _records.c.source_id, _records.c.delivery_status,
)  # fmt: skip


def rate_rows(
    session: Session,
    rows: Sequence[Row],
    *,
    key: str,
    write: Callable[[Session, Sequence[RowResult]], None] | None = None,
    tenants: dict[str, Tenant] | None = None,
    prepriced: Prepriced | None = None,
    priced: Sequence[dict[str, Any] | None] = (),
) -> dict[str, int]:
    """Rate and settle claimed pending rows; counts by resulting status.

    `write` stores the results (default: update the stored rows); intake passes one that
    inserts rows rated before they were ever stored, so each is written once, and the
    rows' tenants it loaded already (`tenants`, by id: at least every row's); on
    PostgreSQL it writes them before any postpaid total or wallet is locked (`_settled`).
    The CDR import passes the rows it priced ahead (`priced`, by row, None for one it did
    not, see `billing.usage.prepricing`): those of a tenant whose view and tariff still
    hold stand, with this `rated_at`; every other row is priced here.
    """
    now = utcnow()
    if tenants is None:
        tenants = tenants_by_id(session, {row.tenant_id for row in rows if row.tenant_id})
    tariffs = Tariffs(session)
    tariffs.prepare(rows)
    # Bundle balances are locked before any wallet, as in every path that draws on them.
    bundles = BundleBook.for_rows(session, rows, tenants, tariffs)
    by_tenant: dict[str, list[RowResult]] = defaultdict(list)
    accrued: dict[tuple[str, str], int] = defaultdict(int)
    postpaid: list[tuple[Row, dict[str, Any]]] = []
    results = []
    views = tenant_views(tenants)
    held = holding(prepriced, views, tariffs) if prepriced is not None and priced else ()
    for index, row in enumerate(rows):
        tenant = views.get(row.tenant_id) if row.tenant_id else None
        ahead = priced[index] if row.tenant_id in held else None
        if ahead is None:
            fields = price(row, tenant, tariffs, now, bundles)
        else:
            fields = ahead
            fields["rated_at"] = now
        result = _new_tuple(RowResult, (row.id, fields))
        results.append(result)
        if fields["status"] is None:
            if tenant.postpaid:
                fields["status"] = _ACCRUED
                accrued[(tenant.id, fields["currency"])] += fields["net_minor"]
                postpaid.append((row, fields))
            else:
                fields["vat_minor"] = vat_on(fields["net_minor"])
                by_tenant[tenant.id].append(result)
    # Locks in one order everywhere (bundles, postpaid totals, then wallets, each in
    # tenant order), so that two batches never deadlock.
    if write is not None and is_postgresql(session):
        forecast = forecast_prepaid_each(session, tenants, by_tenant)
        write(session, results)  # before any total or wallet is locked (see `_settled`)
        _accrue(session, accrued, postpaid)
        settled = _settled(session, by_tenant, forecast, key=key)
    else:
        _accrue(session, accrued, postpaid)
        settled = settle_prepaid_each(session, tenants, by_tenant, key=key)
        (write or write_results)(session, results)
    bundles.flush()
    after_settling(session, settled)
    settle_reservations(session, rows, results)
    counts: dict[str, int] = defaultdict(int)
    rejected = []
    for row, (usage_id, fields) in zip(rows, results, strict=True):
        counts[fields["status"]] += 1
        if fields["reason"]:
            rejected.append((row.tenant_id, usage_id, fields["reason"]))
    review_out_of_range(session, rejected)
    return dict(counts)


def _accrue(
    session: Session,
    accrued: dict[tuple[str, str], int],
    postpaid: list[tuple[Row, dict[str, Any]]],
) -> None:
    """Add the postpaid rows' net to their totals, locked first (and before looking for
    usage of finalised periods: a finalise takes the lock first too); late usage goes to
    pending adjustments, which count in the total by themselves."""
    lock_accrued(session, accrued)
    for key, net in take_late_usage(session, postpaid).items():
        accrued[key] -= net
    add_accrued_each(session, accrued)


def _settled(
    session: Session, by_tenant: dict[str, list[RowResult]], forecast: Forecast, *, key: str
) -> dict[str, Settlement]:
    """Lock and debit the wallets of rows written already, marked as forecast.

    A row names its debit, and a debit holds its wallet's lock until COMMIT: written
    after the debit, two batches of the same tenants stored their rows in turn. So new
    rows are marked as their wallets stand (unlocked), with their debits' ids taken
    ahead, and written; only then are the wallets locked and debited, with those ids. A
    row that a wallet moved meanwhile (a top-up, another debit) settled otherwise is
    updated here: rare, and the only row written twice."""
    settled, missed = settle_as_forecast(session, by_tenant, forecast, key=key)
    if missed:
        copy_update(
            session,
            [result.usage_id for result in missed],
            {name: [result.fields[name] for result in missed] for name in SETTLED_FIELDS},
        )
    return settled


def settle_reservations(
    session: Session, rows: Sequence[Row], results: Sequence[RowResult]
) -> None:
    """Close the reservations of what was rated: its own charge stands in their place. A
    message that has shown no final status yet (a WhatsApp message only sent) keeps its
    reservation until it does."""
    rejected = UsageStatus.REJECTED.value  # an enum's value is a property: read once
    rated = [row for row, (_, fields) in zip(rows, results, strict=True)
             if fields["status"] != rejected
             and (row.service not in MESSAGE_SERVICES
                  or _final_statuses(row.service, row.delivery_status))]  # fmt: skip
    if rated:
        settle_for_usage(session, rated)


@lru_cache(maxsize=1_024)
def _final_statuses(service: str, delivery_status: str) -> bool:
    """`is_final` of a stored status list: a batch's messages share a few (parsed once)."""
    return is_final(service, statuses_seen(delivery_status))


def tenants_by_id(session: Session, ids: set[str]) -> dict[str, Tenant]:
    if not ids:
        return {}
    found = session.execute(select(Tenant).where(Tenant.id.in_(ids))).scalars()
    return {tenant.id: tenant for tenant in found}


def write_results(session: Session, results: Sequence[RowResult]) -> None:
    if not results:
        return
    if is_postgresql(session):
        copy_update(
            session,
            [r.usage_id for r in results],
            {name: [r.fields[name] for r in results] for name in _RESULT_FIELDS},
        )
        return
    statement = (
        update(_records)
        .where(_records.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in _RESULT_FIELDS})
    )
    params = [
        {"b_id": r.usage_id, **{f"b_{name}": r.fields[name] for name in _RESULT_FIELDS}}
        for r in results
    ]
    session.execute(statement, params, execution_options={"synchronize_session": False})
