"""Settling rated prepaid rows: the wallet debited for what it can pay, the rest left
`unbilled` (and the tenant flagged), one tenant or every tenant of a batch at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from billing.tenants.models import Tenant
from billing.usage.debits import Charge, Settlement, settle, settle_each
from billing.usage.flags import clear_flag_if_paid_up, flag_insufficient_balance, flagged_among
from billing.usage.models import UsageStatus


class RowResult(NamedTuple):
    """A rated row: its id and its rated columns (changed in place as it settles)."""

    usage_id: int
    fields: dict[str, Any]


def settle_prepaid_each(
    session: Session,
    tenants: dict[str, Tenant],
    by_tenant: dict[str, list[RowResult]],
    *,
    key: str,
) -> dict[str, Settlement]:
    """`settle_prepaid` for each tenant with rated rows, in tenant order, the wallets
    locked and debited together (`settle_each`)."""
    order = sorted(by_tenant)
    asked = [(tenant_id, tenants[tenant_id].currency.value, _charges(by_tenant[tenant_id]))
             for tenant_id in order]  # fmt: skip
    settlements = settle_each(session, asked, key=key)
    for tenant_id, settled in zip(order, settlements, strict=True):
        _mark_settled(by_tenant[tenant_id], settled)
    return dict(zip(order, settlements, strict=True))


def _charges(results: Sequence[RowResult]) -> list[Charge]:
    new = tuple.__new__  # a NamedTuple from its values in order, without keywords
    return [new(Charge, (r.usage_id, r.fields["net_minor"], r.fields["vat_minor"]))
            for r in results]  # fmt: skip


def settle_prepaid(
    session: Session,
    tenant: Tenant,
    results: Sequence[RowResult],
    *,
    key: str,
    refunds: Sequence[Charge] = (),
) -> Settlement:
    """Debit the wallet for rated prepaid rows; what it cannot pay stays `unbilled`."""
    settled = settle(
        session,
        tenant_id=tenant.id,
        currency=tenant.currency.value,
        charges=_charges(results),
        refunds=refunds,
        key=key,
    )
    _mark_settled(results, settled)
    return settled


_BILLED, _UNBILLED = UsageStatus.BILLED.value, UsageStatus.UNBILLED.value


def _mark_settled(results: Sequence[RowResult], settled: Settlement) -> None:
    paid, transaction_id, entry_id = settled.paid, settled.transaction_id, settled.wallet_entry_id
    for result in results:
        fields = result.fields
        if result.usage_id in paid:
            fields["status"] = _BILLED
            if fields["net_minor"]:
                fields["ledger_transaction_id"] = transaction_id
                fields["ledger_entry_id"] = entry_id
        else:
            fields["status"] = _UNBILLED
            fields["reason"] = "insufficient_balance"


def after_settling(session: Session, settled: dict[str, Settlement]) -> None:
    """Once the rows are written: flag tenants left unbilled, clear those paid up."""
    flagged = flagged_among(session, [t for t, s in settled.items() if not s.unpaid])
    for tenant_id, settlement in settled.items():
        if settlement.unpaid:
            flag_insufficient_balance(session, tenant_id)
        else:
            clear_flag_if_paid_up(session, tenant_id, tenant_id in flagged)
