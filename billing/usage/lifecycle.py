"""Later status reports of stored messages: each one new is a new revision, re-rated.

A message is stored on its first report (revision 0, as any usage). A later report of
the same (source system, source id) with a status the message has not shown before adds
that status to the set it has shown (`delivery_status`) and prices the message again
from the set (`billing.rating.message_status`): a rated record gets a new revision and
the old one is `superseded`, as re-rating does, with the difference through the ledger
(a charge on the first chargeable status, a refund if the plan refunds a charged message
that failed, nothing when the price is unchanged). A record not rated yet (pending) or
not rateable (rejected) takes the status in place, to be rated with it. A report of a
status already shown is a duplicate, whatever the order the statuses came in.

Reports of one message are serialised by a row lock on its revision 0 (never rewritten,
so the lock is always found), taken in id order, before any bundle, accrual or wallet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.rating import message_status
from billing.tenants.models import BillingMode, Tenant
from billing.usage.accruals import add_accrued, lock_accrued
from billing.usage.bulk import stored_keys
from billing.usage.bundle_balances import BundleBook, stored_draws
from billing.usage.debits import Charge, vat_on
from billing.usage.intake import Outcome, store
from billing.usage.intake_rows import STORED_COLUMNS
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.rating import (
    price,
    settle_reservations,
    tenants_by_id,
    write_results,
)
from billing.usage.settling import RowResult, after_settling, settle_prepaid
from billing.usage.tariff_lookup import Tariffs

_records = UsageRecord.__table__
RATED = frozenset({UsageStatus.BILLED.value, UsageStatus.ACCRUED.value, UsageStatus.UNBILLED.value})
UPDATED = "updated"  # an outcome: a new status of a stored message, applied
Key = tuple[str, str]


def _key(row: Any) -> Key:
    if isinstance(row, dict):
        return (row["source_system"], row["source_id"])
    return (row.source_system, row.source_id)


def store_messages(session: Session, rows: Sequence[dict]) -> list[Outcome]:
    """Store message reports: a message's first through `intake.store`, later ones as
    status updates of the stored record (in batch order); outcomes in the rows' order."""
    messages = [_key(r) for r in rows if r["service"] in message_status.MESSAGE_SERVICES]
    stored = _stored(session, messages)
    first: list[int] = []
    later: list[tuple[int, dict]] = []
    taken: set[Key] = set()
    for index, row in enumerate(rows):
        key = _key(row)
        if row["service"] in message_status.MESSAGE_SERVICES and (key in stored or key in taken):
            later.append((index, row))
        else:
            first.append(index)
            taken.add(key)
    outcomes: list[Outcome | None] = [None] * len(rows)
    # Every key of `first` was just looked up if all are messages: no probe again.
    looked_up = all(rows[i]["service"] in message_status.MESSAGE_SERVICES for i in first)
    for outcome in store(session, [rows[i] for i in first], looked_up=looked_up):
        index = first[outcome.index]
        if outcome.status == "duplicate" and rows[index]["service"] != "unknown":
            later.append((index, rows[index]))  # stored meanwhile by another request
        else:
            outcomes[index] = tuple.__new__(Outcome, (index, *outcome[1:]))  # ~_replace, 5x cheaper
    for outcome in advance(session, sorted(later, key=lambda item: item[0])):
        outcomes[outcome.index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def _stored(session: Session, keys: list[Key]) -> set[Key]:
    if not keys:
        return set()
    if is_postgresql(session):
        return stored_keys(session, list(set(keys)))
    found = session.execute(
        select(_records.c.source_system, _records.c.source_id).where(
            tuple_(_records.c.source_system, _records.c.source_id).in_(set(keys)),
            _records.c.revision == 0,
        )
    )
    return {(row.source_system, row.source_id) for row in found}


def advance(session: Session, reports: Sequence[tuple[int, dict]]) -> list[Outcome]:
    """Apply later reports, `(index in the batch, parsed row)`, of stored messages."""
    if not reports:
        return []
    current = _lock_current(session, sorted({_key(row) for _, row in reports}))
    seen = {key: message_status.statuses_seen(row.delivery_status) for key, row in current.items()}
    outcomes: list[Outcome] = []
    changed: dict[Key, None] = {}
    for index, row in reports:
        key = _key(row)
        stored = current.get(key)
        sender_id = row.get("sender_source_id") or row["source_id"]
        same_message = stored is not None and stored.tenant_id == row["tenant_id"]
        if not same_message or stored.service != row["service"]:
            reason = "source_id: names a stored record of another tenant or channel"
            outcomes.append(Outcome(index, sender_id, "rejected", reason))
            continue
        status = row["delivery_status"]
        if status in seen[key]:
            outcomes.append(Outcome(index, sender_id, "duplicate", None, stored.id))
            continue
        seen[key] = seen[key] | {status}
        changed[key] = None
        outcomes.append(Outcome(index, sender_id, UPDATED, None, None))
    now_current = _apply(session, {key: (current[key], seen[key]) for key in changed})
    keys = {index: _key(row) for index, row in reports}
    return [
        o._replace(usage_id=now_current[keys[o.index]]) if o.status == UPDATED else o
        for o in outcomes
    ]


def _lock_current(session: Session, keys: list[Key]) -> dict[Key, Any]:
    """The current row of each message, locked (after its revision 0, in id order)."""
    postgresql = is_postgresql(session)
    match = tuple_(_records.c.source_system, _records.c.source_id).in_(keys)
    found: dict[Key, Any] = {}
    for _attempt in range(3):
        if postgresql:
            session.execute(
                select(_records.c.id)
                .where(match, _records.c.revision == 0)
                .order_by(_records.c.id)
                .with_for_update()
            ).all()
        query = select(_records).where(match, _records.c.status != UsageStatus.SUPERSEDED.value)
        if postgresql:
            query = query.order_by(_records.c.id).with_for_update()
        found = {_key(row): row for row in session.execute(query)}
        if len(found) == len(keys):
            break
        # A re-rating superseded a row while we waited for its lock: read again.
    return found


def _apply(session: Session, updates: dict[Key, tuple[Any, frozenset[str]]]) -> dict[Key, int]:
    """Give each message its new set of statuses; the id of its current row after."""
    result: dict[Key, int] = {}
    revise = []
    rated = [row for row, _ in updates.values() if row.status in RATED]
    priceable = _priceable(session, rated)
    for key, (row, seen) in updates.items():
        disposition = message_status.disposition(row.service, seen)
        if row.id in priceable:
            revise.append((row, seen, disposition))
            continue
        # Not rated yet (rated with its statuses later), not rateable (retried with them),
        # or no longer priceable (its plan changed: the charge stands, the status is kept).
        session.execute(
            update(_records)
            .where(_records.c.id == row.id)
            .values(delivery_status=message_status.stored_statuses(seen), disposition=disposition)
        )
        result[key] = row.id
    if revise:
        result.update(_revise(session, revise))
    return result


def _priceable(session: Session, rows: list[Any]) -> set[int]:
    """The rated rows their tariff can price now (bundles aside, as re-rating asks)."""
    if not rows:
        return set()
    now = utcnow()
    tenants = tenants_by_id(session, {row.tenant_id for row in rows})
    tariffs = Tariffs(session)
    tariffs.prepare(rows)
    return {
        row.id
        for row in rows
        if row.tenant_id in tenants
        and price(row, tenants[row.tenant_id], tariffs, now)["status"] is None
    }


def _revise(session: Session, revise: list[tuple[Any, frozenset[str], str]]) -> dict[Key, int]:
    """New revisions of rated messages, priced from their statuses; the difference
    settled (prepaid: one ledger transaction a tenant; postpaid: the accrued total)."""
    now = utcnow()
    tenants = tenants_by_id(session, {row.tenant_id for row, _, _ in revise})
    revised = [_revision(row, seen, disposition) for row, seen, disposition in revise]
    tariffs = Tariffs(session)
    tariffs.prepare(revised)
    book = BundleBook(session)
    for (old, _, _), new in zip(revise, revised, strict=True):
        book.need_stored(old.tenant_id, stored_draws(old.breakdown))
        tariff = tariffs.at(old.tenant_id, old.occurred_at)
        if tariff is not None and tariff.plan.bundles:
            book.need(old.tenant_id, tariff.plan, new.occurred_at)
    book.lock()
    for old, _, _ in revise:
        book.give_back(old.tenant_id, stored_draws(old.breakdown))
    priced = []
    for (old, _, _), new in zip(revise, revised, strict=True):
        fields = price(new, tenants[old.tenant_id], tariffs, now, book)
        if _same(old, fields):
            fields = _unchanged(old, fields)
        priced.append(fields)
    book.flush()
    ids = _insert_revisions(session, revised)
    by_tenant: dict[str, list[RowResult]] = defaultdict(list)
    refunds: dict[str, list[Charge]] = defaultdict(list)
    accrued: dict[tuple[str, str], int] = defaultdict(int)
    results = []
    for (old, _, _), fields, new_id in zip(revise, priced, ids, strict=True):
        result = RowResult(new_id, fields)
        results.append(result)
        if fields["status"] is not None:
            continue  # the price stands: nothing to settle
        tenant = tenants[old.tenant_id]
        if tenant.billing_mode is BillingMode.POSTPAID:
            fields["status"] = UsageStatus.ACCRUED.value
            difference = fields["net_minor"] - (old.net_minor or 0)
            accrued[(tenant.id, tenant.currency.value)] += difference
            continue
        fields["vat_minor"] = vat_on(fields["net_minor"])
        by_tenant[tenant.id].append(result)
        if old.status == UsageStatus.BILLED.value and old.net_minor:
            refunds[tenant.id].append(Charge(old.id, old.net_minor, old.vat_minor or 0))
    lock_accrued(session, accrued)
    settled = {
        tenant_id: _settle(session, tenants[tenant_id], by_tenant[tenant_id], refunds[tenant_id])
        for tenant_id in sorted(by_tenant)
    }
    for (tenant_id, currency), net in sorted(accrued.items()):
        add_accrued(session, tenant_id, currency, net)
    write_results(session, results)
    session.execute(
        update(_records)
        .where(_records.c.id == bindparam("b_id"))
        .values(status=UsageStatus.SUPERSEDED.value, superseded_by_id=bindparam("b_new")),
        [{"b_id": old.id, "b_new": new} for (old, _, _), new in zip(revise, ids, strict=True)],
        execution_options={"synchronize_session": False},
    )
    after_settling(session, settled)
    settle_reservations(session, revised, results)
    return {_key(old): new_id for (old, _, _), new_id in zip(revise, ids, strict=True)}


def _settle(session: Session, tenant: Tenant, results: list[RowResult], refunds: list[Charge]):
    return settle_prepaid(
        session, tenant, results, key=f"usage-status:{results[0].usage_id}", refunds=refunds
    )


def _revision(row: Any, seen: frozenset[str], disposition: str) -> SimpleNamespace:
    values = {name: getattr(row, name) for name in STORED_COLUMNS}
    values.update(
        id=row.id,
        revision=row.revision + 1,
        delivery_status=message_status.stored_statuses(seen),
        disposition=disposition,
        status=UsageStatus.PENDING.value,
        reason=None,
        received_at=utcnow(),
    )
    return SimpleNamespace(**values)


def _same(old: Any, fields: dict[str, Any]) -> bool:
    return (
        fields["net_minor"] == old.net_minor
        and fields["zone"] == old.zone
        and fields["breakdown"]["bundle_draws"] == stored_draws(old.breakdown)
    )


def _unchanged(old: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The old row's rating, kept on the new revision: the same charge, already settled."""
    kept = {name: getattr(old, name) for name in fields}
    kept["rated_at"] = fields["rated_at"] or old.rated_at
    return kept


def _insert_revisions(session: Session, rows: list[SimpleNamespace]) -> list[int]:
    ids = []
    for row in rows:
        values = {name: getattr(row, name) for name in STORED_COLUMNS}
        ids.append(
            session.execute(insert(_records).values(values).returning(_records.c.id)).scalar_one()
        )
    return ids
