"""Use cases of top-ups that answer a tenant: ask for one, read them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing.core.errors import Conflict, InvalidInput
from billing.core.finders import newest_first, owned
from billing.core.ids import new_id
from billing.jobs.outbox import defer
from billing.tenants.service import get_tenant
from billing.topups.card_topups import request_card_topup
from billing.topups.gateways import CARD, MOBILE_MONEY, Gateways
from billing.topups.models import Topup, TopupStatus
from providers import msisdn as msisdns


@dataclass(frozen=True)
class TopupRequest:
    amount: int
    currency: str
    msisdn: str | None = None
    provider: str | None = None
    method: str | None = None  # "card" or "mobile_money"; `provider: card` says the same


def request_topup(
    session: Session, gateways: Gateways, tenant_id: str, request: TopupRequest
) -> Topup:
    """A pending top-up; the provider is asked after commit, by the `topups.initiate` job."""
    tenant = get_tenant(session, tenant_id)
    if tenant.restricted_at is not None:
        raise Conflict("processing of this tenant's data is restricted: no top-up until lifted")
    if request.currency != tenant.currency:
        raise InvalidInput.on("currency", f"the wallet is in {tenant.currency}")
    if request.method == "card" and request.provider not in (None, CARD):
        raise InvalidInput.on("provider", "method card is paid by provider card")
    if request.method == "mobile_money" and request.provider == CARD:
        raise InvalidInput.on("provider", "card is not mobile money")
    if request.provider == CARD or request.method == CARD:
        if CARD not in gateways.enabled:
            raise InvalidInput.on("provider", "card top-ups are not enabled here")
        return request_card_topup(
            session, gateways, tenant, request.amount, request.currency, reference_for=reference_for
        )
    payer = _payer(request.msisdn or tenant.msisdn)
    provider = request.provider or msisdns.suggest_operator(payer)
    if provider not in MOBILE_MONEY:
        raise InvalidInput.on("provider", "cannot tell the operator: name the provider")
    _check_currency(gateways, provider, request.currency)
    _check_amount(gateways, provider, request.amount)
    topup_id = new_id("top")
    topup = Topup(
        id=topup_id,
        tenant_id=tenant.id,
        reference=reference_for(topup_id),
        provider=provider,
        msisdn=payer,
        amount_minor=request.amount,
        currency=request.currency,
    )
    session.add(topup)
    session.flush()
    defer(session, "topups.initiate", topup.id, dedupe_key=f"topups.initiate:{topup.id}")
    return topup


def reference_for(topup_id: str) -> str:
    """The id providers carry: 20 letters or digits (M-Pesa's limit), unique like the id."""
    return "T" + topup_id.removeprefix("top_")[-19:]


def _payer(raw: str) -> str:
    try:
        return msisdns.normalise(raw)
    except ValueError as error:
        raise InvalidInput.on("msisdn", str(error)) from None


def _check_currency(gateways: Gateways, provider: str, currency: str) -> None:
    """Mobile money collects shillings only; a USD wallet tops up by card (coming)."""
    collects = gateways.adapter(provider).capabilities.currency
    if currency != collects:
        raise InvalidInput.on(
            "currency",
            f"{provider} collects {collects} only: a {currency} wallet cannot be topped up "
            "by mobile money",
        )


def _check_amount(gateways: Gateways, provider: str, amount: int) -> None:
    limits = gateways.adapter(provider).capabilities
    if amount % 100:
        raise InvalidInput.on("amount", "mobile money moves whole shillings (multiples of 100)")
    if not limits.min_amount_minor <= amount <= limits.max_amount_minor:
        raise InvalidInput.on(
            "amount",
            f"{provider} takes {limits.min_amount_minor} to {limits.max_amount_minor}",
        )


def get_topup(session: Session, topup_id: str, tenant_id: str | None) -> Topup:
    """A top-up; a tenant asking for another tenant's gets 404."""
    return owned(session, Topup, topup_id, tenant_id, "top-up")


def list_topups(
    session: Session,
    *,
    tenant_id: str | None,
    status: TopupStatus | None,
    before: str | None,
    limit: int,
) -> list[Topup]:
    return newest_first(session, Topup, tenant_id=tenant_id, before=before, limit=limit,
                        status=status)  # fmt: skip
