"""Settling rated prepaid rows: the wallet debited for what it can pay, the rest left
`unbilled` (and the tenant flagged), one tenant or every tenant of a batch at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from billing.tenants.models import Tenant
from billing.usage.debits import Charge, Settlement, forecast_each, settle, settle_each
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
    settlements = settle_each(session, _asked(tenants, by_tenant, order), key=key)
    for tenant_id, settled in zip(order, settlements, strict=True):
        _mark_settled(by_tenant[tenant_id], settled)
    return dict(zip(order, settlements, strict=True))


class Forecast(NamedTuple):
    """Each tenant's settlement as its wallet stood, unlocked (`forecast_prepaid_each`)."""

    order: list[str]
    asked: list[tuple[str, str, list[Charge]]]
    settlements: list[Settlement]
    numbered: list[tuple[int, int]]  # each tenant's debit's ids, taken ahead


def forecast_prepaid_each(
    session: Session, tenants: dict[str, Tenant], by_tenant: dict[str, list[RowResult]]
) -> Forecast:
    """The rows marked as their wallets will settle them if nothing moves them first
    (`debits.forecast_each`), so that they can be stored before the wallets are locked;
    `settle_as_forecast` then settles them."""
    order = sorted(by_tenant)
    asked = _asked(tenants, by_tenant, order)
    settlements, numbered = forecast_each(session, asked)
    for tenant_id, forecast in zip(order, settlements, strict=True):
        _mark_settled(by_tenant[tenant_id], forecast)
    return Forecast(order, asked, settlements, numbered)


def settle_as_forecast(
    session: Session, by_tenant: dict[str, list[RowResult]], forecast: Forecast, *, key: str
) -> tuple[dict[str, Settlement], list[RowResult]]:
    """Lock and debit the wallets as `settle_prepaid_each` does, each debit with its ids
    taken ahead; and the rows stored as forecast that settled otherwise (a wallet that
    moved between the forecast and its lock), marked again for the caller to update."""
    settlements = settle_each(session, forecast.asked, key=key, numbered=forecast.numbered)
    missed = []
    for tenant_id, settled, foreseen in zip(
        forecast.order, settlements, forecast.settlements, strict=True
    ):
        if settled != foreseen:
            missed += _marked_again(by_tenant[tenant_id], settled)
    return dict(zip(forecast.order, settlements, strict=True)), missed


SETTLED_FIELDS = ("status", "reason", "ledger_transaction_id", "ledger_entry_id")


def _marked_again(results: Sequence[RowResult], settled: Settlement) -> list[RowResult]:
    """Mark the rows as `settled`, afresh; those whose settled fields changed."""
    before = [tuple(result.fields[name] for name in SETTLED_FIELDS) for result in results]
    for result in results:
        result.fields.update(reason=None, ledger_transaction_id=None, ledger_entry_id=None)
    _mark_settled(results, settled)
    return [result for result, was in zip(results, before, strict=True)
            if tuple(result.fields[name] for name in SETTLED_FIELDS) != was]  # fmt: skip


def _asked(
    tenants: dict[str, Tenant], by_tenant: dict[str, list[RowResult]], order: list[str]
) -> list[tuple[str, str, list[Charge]]]:
    return [(tenant_id, tenants[tenant_id].currency.value, _charges(by_tenant[tenant_id]))
            for tenant_id in order]  # fmt: skip


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
