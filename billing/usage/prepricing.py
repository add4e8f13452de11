"""Rows priced ahead of their chunk's transaction, and the check that lets them stand.

The CDR import prices chunk N+1 while chunk N is stored (`billing.usage.imports`). A
row can be priced ahead only if nothing chunk N writes, nor anything else written before
N+1's own transaction, could change its price:

- its tariff has no bundle (bundle units used are what chunk N writes and N+1 reads:
  such rows are priced in N+1's transaction, with the balances locked, as always);
- the plan is in the tenant's currency (no FX rate, which is read by day);
- the tenant is known and not restricted, and one tariff (`Tariffs.whole`) covers
  every row of the tenant in the chunk.

Pricing reads nothing else: not the wallet (settled after pricing, in the chunk's
transaction), not duplicates (found in the chunk's transaction, before pricing counts:
a row priced ahead that turns out a duplicate is dropped, and drew on nothing), not
reservations. So in the chunk's transaction `holding` reads the tenants and tariffs
again, and a tenant's rows priced ahead stand only if its view and its tariff are the
very same objects' worth (same assignment, plan version, destination table); otherwise
they are priced again there. `rated_at` is the transaction's, as it would have been.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.tenants.models import BillingMode, Tenant
from billing.usage.bulk import next_ids
from billing.usage.models import UsageStatus
from billing.usage.row_prices import _TenantView, price_plainly
from billing.usage.tariff_lookup import Tariffs

_new_tuple = tuple.__new__  # a NamedTuple from its values in order, without keywords


class Prepriced(NamedTuple):
    """What a chunk was priced with ahead of its transaction, and the prices."""

    views: dict[str, _TenantView]  # the tenants priced for, as read then
    tariffs: dict[str, Any]  # each such tenant's tariff over the chunk
    chunk: Shaped | None = None  # the chunk numbered and shaped ahead, and its prices

    def by_row(self, rows: Sequence[dict]) -> list[dict[str, Any] | None]:
        """Each of `rows`' rated columns priced ahead, None where not (the chunk's rows,
        as `preprice` was given them)."""
        if self.chunk is None:
            return [None] * len(rows)
        found: dict[int, dict[str, Any] | None] = dict.fromkeys(map(id, rows))
        prices = iter(self.chunk.priced)
        for row, shaped in zip(self.chunk.new.values(), self.chunk.shaped, strict=True):
            if shaped is not None:
                found[id(row)] = next(prices)
        return [found[id(row)] for row in rows]


def tenant_views(tenants: Mapping[str, Tenant]) -> dict[str, _TenantView]:
    """Plain views of the tenants: an ORM attribute read costs as much as a small
    function call, and each row reads three."""
    return {tenant_id: _TenantView(t.id, t.currency, t.billing_mode is BillingMode.POSTPAID,
                                   t.restricted_at is not None)
            for tenant_id, t in tenants.items()}  # fmt: skip


def aheadable(view: _TenantView | None, tariff: Any) -> bool:
    """Whether a tenant's rows may be priced ahead under `tariff` (see the module)."""
    return (
        view is not None
        and not view.restricted
        and tariff is not None
        and not tariff.plan.bundles
        and tariff.plan.currency == view.currency
    )


def _same_tariff(one: Any, other: Any) -> bool:
    return (
        other is not None
        and (one.assignment_id, one.plan_id, one.plan_version, one.currency)
        == (other.assignment_id, other.plan_id, other.plan_version, other.currency)
        and one.plan is other.plan
        and one.destinations is other.destinations
    )


def holding(prepriced: Prepriced, views: Mapping[str, _TenantView], tariffs: Tariffs) -> set[str]:
    """The tenants whose rows priced ahead stand: the same view and the same tariff now,
    in the chunk's transaction, as when they were priced."""
    return {
        tenant_id
        for tenant_id, tariff in prepriced.tariffs.items()
        if views.get(tenant_id) == prepriced.views[tenant_id]
        and _same_tariff(tariff, tariffs.whole(tenant_id))
    }


class PendingRow(NamedTuple):
    """A row about to be stored, as `rate_rows` reads a stored one."""

    id: int
    tenant_id: str
    service: str
    to_number: str
    occurred_at: datetime
    billable_s: int
    units: int
    disposition: str
    category: str
    pricing_type: str
    answered_at: datetime | None
    source_id: str
    delivery_status: str


pending_fields = itemgetter(*PendingRow._fields[1:])  # all but the id


def preprice(session: Session, rows: Sequence[dict], tenants: dict[str, Tenant]) -> Prepriced:
    """The pending rows that can be priced ahead of their transaction, priced
    (`billing.usage.prepricing` says which, and why their price cannot differ); and
    the chunk numbered and shaped as `_rate_and_insert_once` takes it when nothing of it
    is stored yet (ids from the sequence: taken in file order, as in the transaction)."""
    waiting = UsageStatus.PENDING.value
    new: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["source_system"], row["source_id"])
        if key not in new:
            new[key] = row
    ids = next_ids(session, len(new))
    shaped = [_new_tuple(PendingRow, (usage_id, *pending_fields(row)))
              if row["status"] == waiting and row["tenant_id"] in tenants else None
              for row, usage_id in zip(new.values(), ids, strict=True)]  # fmt: skip
    pending = [row for row in shaped if row is not None]
    tariffs = Tariffs(session)
    tariffs.prepare(pending)
    views = tenant_views(tenants)
    chosen = {tenant_id: tariff for tenant_id in views
              if aheadable(views[tenant_id], tariff := tariffs.whole(tenant_id))}  # fmt: skip
    now = utcnow()
    by_tenant: dict[str, list[int]] = {tenant_id: [] for tenant_id in chosen}
    for index, row in enumerate(pending):
        if (indexes := by_tenant.get(row.tenant_id)) is not None:
            indexes.append(index)
    priced: list[dict[str, Any] | None] = [None] * len(pending)
    for tenant_id, indexes in by_tenant.items():
        rows_of = [pending[index] for index in indexes]
        for index, fields in zip(indexes, price_plainly(rows_of, views[tenant_id], tariffs, now),
                                 strict=True):  # fmt: skip
            priced[index] = fields
    chunk = Shaped(frozenset(tenants), new, ids, shaped, pending, priced)
    return Prepriced({t: views[t] for t in chosen}, chosen, chunk)


class Shaped(NamedTuple):
    """A chunk as `_rate_and_insert_once` takes it when nothing of it is stored."""

    known: frozenset[str]  # its tenants found (the others' rows are rejected by `store`)
    new: dict[tuple[str, str], dict]  # the first row of each key
    ids: list[int]  # theirs, in order
    shaped: list[Any]  # each of `new` as rating reads it, None if not pending
    pending: list[Any]  # the pending rows of known tenants, as rating reads them
    priced: list[dict[str, Any] | None]  # their prices made ahead
