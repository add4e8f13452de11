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

from collections.abc import Mapping
from typing import Any, NamedTuple

from billing.tenants.models import BillingMode, Tenant
from billing.usage.row_prices import _TenantView
from billing.usage.tariff_lookup import Tariffs


class Prepriced(NamedTuple):
    """What a chunk was priced with ahead of its transaction, and the prices."""

    views: dict[str, _TenantView]  # the tenants priced for, as read then
    tariffs: dict[str, Any]  # each such tenant's tariff over the chunk
    fields: list[dict[str, Any] | None]  # each row's rated columns, None if not priced
    chunk: Any = None  # the chunk numbered and shaped ahead (`rated_insert.Shaped`)


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
