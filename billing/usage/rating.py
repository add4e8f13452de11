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
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.core.errors import MalipoError
from billing.core.money import Currency
from billing.rating.bundles import EMPTY
from billing.rating.fixedpoint import micro_to_decimal
from billing.rating.message_status import (
    CHARGED_THEN_FAILED,
    MESSAGE_SERVICES,
    is_charged,
    is_final,
    statuses_seen,
)
from billing.rating.plans import DURATION_SERVICES, Service
from billing.rating.rater import OUT_OF_RANGE, rate_usage
from billing.rating.records import RatedUsage, Unrated
from billing.rating.records import UsageRecord as RaterRecord
from billing.tariffs.fx import day_of
from billing.tenants.models import BillingMode, Tenant
from billing.usage.accruals import add_accrued_each, lock_accrued
from billing.usage.bulk import copy_update
from billing.usage.bundle_balances import BundleBook
from billing.usage.debits import vat_on
from billing.usage.late import take_late_usage
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.parking import out_of_range, review_out_of_range
from billing.usage.reservations import settle_for_usage
from billing.usage.settling import RowResult, after_settling, settle_prepaid_each
from billing.usage.tariff_lookup import Tariffs

_records = UsageRecord.__table__
UNITS = {
    Service.SMS: "segment",
    Service.WHATSAPP: "message",
    Service.NUMBER_RENTAL: "month",
}
RATE_COLUMNS = (
    _records.c.id, _records.c.tenant_id, _records.c.service, _records.c.to_number,
    _records.c.occurred_at, _records.c.billable_s, _records.c.units, _records.c.disposition,
    _records.c.category, _records.c.pricing_type, _records.c.answered_at,
    _records.c.source_id, _records.c.delivery_status,
)  # fmt: skip
_RESULT_FIELDS = (
    "status", "reason", "rated_at", "plan_id", "plan_version", "zone", "band", "unit",
    "billed_units", "bundle_units", "currency", "net_minor", "vat_minor", "raw_amount",
    "fx_rate", "breakdown", "ledger_transaction_id", "ledger_entry_id",
)  # fmt: skip


def unit_of(service: Service) -> str:
    return "second" if service in DURATION_SERVICES else UNITS[service]


_SERVICES = {service.value: service for service in Service}
_new_tuple = tuple.__new__


def rater_record(row: Row) -> RaterRecord:
    service = _SERVICES.get(row.service) or Service(row.service)  # a dict: Enum() is dear
    answered = row.billable_s > 0 or row.answered_at is not None
    return _new_tuple(
        RaterRecord,
        # source_id, service, started_at, destination, billable_s, answered, units, zone,
        # category, pricing_type, market: the record's fields in order, without keywords
        (str(row.id), service, row.occurred_at, row.to_number, row.billable_s, answered,
         row.units, "", row.category, row.pricing_type, ""),
    )  # fmt: skip


class _TenantView(NamedTuple):
    """What rating reads of a tenant for each row, as plain attributes."""

    id: str
    currency: Currency
    postpaid: bool
    restricted: bool = False  # processing restricted (billing.privacy): kept, not rated


def price(
    row: Row,
    tenant: Tenant | _TenantView | None,
    tariffs: Tariffs,
    now: datetime,
    bundles: BundleBook | None = None,
) -> dict[str, Any]:
    """The rated (or rejected) columns of one row; status is settled by the caller.

    With a `bundles` book (its balances locked for this row), the row draws on the
    tenant's bundles and the draws are recorded in the book and on the row.
    """
    if tenant is None:
        return _rejected("unknown_tenant")
    if getattr(tenant, "restricted", None) or getattr(tenant, "restricted_at", None):
        return _rejected("processing_restricted")
    tariff = tariffs.at(tenant.id, row.occurred_at)
    if tariff is None:
        return _rejected("no_plan")
    fx = None
    if tariff.plan.currency != tenant.currency:
        try:
            fx = tariff.fx_rate(day_of(row.occurred_at))
        except MalipoError:
            return _rejected("no_fx_rate")
    plan = tariff.plan
    delivered = row.service not in MESSAGE_SERVICES or is_charged(
        row.disposition, plan.refund_failed_messages
    )
    state = EMPTY
    if bundles is not None and plan.bundles and delivered:
        state = bundles.state(tenant.id, plan, row.occurred_at)
    try:
        result = rate_usage(rater_record(row), plan, tariff.destinations, state, fx)
    except ValueError as error:
        return _rejected(f"malformed: {error}")
    if isinstance(result, Unrated):
        if result.reason == OUT_OF_RANGE:
            return _rejected(out_of_range(plan.code, tariff.plan_version, plan.currency))
        return _rejected(result.reason)
    if not delivered:
        # Not accepted (SMS) or not delivered (WhatsApp): kept, and charged nothing.
        note = "failed_refunded" if row.disposition == CHARGED_THEN_FAILED else "not_delivered"
        result = result._replace(amount_minor=0, raw_numerator=0, note=note)
    draws: list[dict[str, Any]] = []
    if result.bundle_draws and bundles is not None:
        draws = bundles.take(tenant.id, plan, row.occurred_at, result.bundle_draws)
    return _rated(result, tariff, fx, now, draws)


def _rejected(reason: str) -> dict[str, Any]:
    fields = dict.fromkeys(_RESULT_FIELDS)
    fields.update(status=UsageStatus.REJECTED.value, reason=reason)
    return fields


def _rated(
    result: RatedUsage, tariff: Any, fx: Any, now: datetime, draws: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "status": None,
        "reason": None,
        "rated_at": now,
        "plan_id": str(tariff.plan_id),
        "plan_version": int(tariff.plan_version),
        "zone": result.zone,
        "band": result.band,
        "unit": unit_of(result.service),
        "billed_units": result.billed_units,
        "bundle_units": result.bundle_units,
        "currency": str(result.currency),
        "net_minor": result.amount_minor,
        "vat_minor": None,
        "raw_amount": _raw_text(result.raw_numerator, result.raw_denominator, result.currency),
        "fx_rate": fx.rate if fx is not None else None,
        # pieces: [start_s, increment_s, increments, billed_units, charged_units, rate_micro]
        # per rate group (billing.rating.records.Piece); rates in micro-minor per rate unit.
        "breakdown": {
            "pieces": result.pieces,
            "rate_unit_s": result.rate_unit_s,
            # {bundle, period, period_start, units} per bundle drawn (bundle_balances)
            "bundle_draws": draws,
            "note": result.note,
        },
        "ledger_transaction_id": None,
        "ledger_entry_id": None,
    }


@lru_cache(maxsize=65_536)
def _raw_text(numerator: int, denominator: int, currency: Currency) -> str:
    """`RatedUsage.raw_amount` as stored; rows share amounts, and Decimal division is dear."""
    return str(micro_to_decimal(numerator, denominator, currency))


def rate_rows(
    session: Session,
    rows: Sequence[Row],
    *,
    key: str,
    write: Callable[[Session, Sequence[RowResult]], None] | None = None,
) -> dict[str, int]:
    """Rate and settle claimed pending rows; counts by resulting status.

    `write` stores the results (default: update the stored rows); intake passes one that
    inserts rows rated before they were ever stored, so each is written once.
    """
    now = utcnow()
    tenants = tenants_by_id(session, {row.tenant_id for row in rows if row.tenant_id})
    tariffs = Tariffs(session)
    tariffs.prepare(rows)
    # Bundle balances are locked before any wallet, as in every path that draws on them.
    bundles = BundleBook.for_rows(session, rows, tenants, tariffs)
    by_tenant: dict[str, list[RowResult]] = defaultdict(list)
    accrued: dict[tuple[str, str], int] = defaultdict(int)
    postpaid: list[tuple[Row, dict[str, Any]]] = []
    results = []
    # Plain views of the tenants: an ORM attribute read costs as much as a small
    # function call, and each row read three.
    views = {tenant_id: _TenantView(t.id, t.currency, t.billing_mode is BillingMode.POSTPAID,
                                        t.restricted_at is not None)
             for tenant_id, t in tenants.items()}  # fmt: skip
    for row in rows:
        tenant = views.get(row.tenant_id) if row.tenant_id else None
        fields = price(row, tenant, tariffs, now, bundles)
        result = RowResult(row.id, fields)
        results.append(result)
        if fields["status"] is None:
            if tenant.postpaid:
                fields["status"] = UsageStatus.ACCRUED.value
                accrued[(tenant.id, fields["currency"])] += fields["net_minor"]
                postpaid.append((row, fields))
            else:
                fields["vat_minor"] = vat_on(fields["net_minor"])
                by_tenant[tenant.id].append(result)
    # The postpaid totals are locked before any wallet (and before looking for usage of
    # finalised periods: a finalise takes the lock first too); late usage goes to pending
    # adjustments, which count in the total by themselves.
    lock_accrued(session, accrued)
    for key, net in take_late_usage(session, postpaid).items():
        accrued[key] -= net
    # Tenants in one order everywhere, so two jobs lock their wallets without deadlocking.
    settled = settle_prepaid_each(session, tenants, by_tenant, key=key)
    bundles.flush()
    add_accrued_each(session, accrued)
    (write or write_results)(session, results)
    after_settling(session, settled)
    settle_reservations(session, rows, results)
    rejected = [(row.tenant_id, r.usage_id, r.fields["reason"])
                for row, r in zip(rows, results, strict=True) if r.fields["reason"]]  # fmt: skip
    review_out_of_range(session, rejected)
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        counts[result.fields["status"]] += 1
    return dict(counts)


def settle_reservations(
    session: Session, rows: Sequence[Row], results: Sequence[RowResult]
) -> None:
    """Close the reservations of what was rated: its own charge stands in their place. A
    message that has shown no final status yet (a WhatsApp message only sent) keeps its
    reservation until it does."""
    rated = [
        row
        for row, result in zip(rows, results, strict=True)
        if result.fields["status"] != UsageStatus.REJECTED.value and _final(row)
    ]
    if rated:
        settle_for_usage(session, rated)


def _final(row: Row) -> bool:
    if row.service not in MESSAGE_SERVICES:
        return True
    return is_final(row.service, statuses_seen(row.delivery_status))


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
