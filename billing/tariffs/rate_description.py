"""The price an authorisation was worked from, in the plan's terms (net of VAT)."""

from __future__ import annotations

from decimal import Decimal

from billing.rating.allowance import Allowance, Request
from billing.rating.plans import DURATION_SERVICES, RatePlan, Service
from billing.tariffs.service import Tariff
from billing.tenants.models import BillingMode


def describe_rate(tariff: Tariff, request: Request, result: Allowance, vat_rate: Decimal) -> dict:
    """The price the answer was worked from, in the plan's terms (net of VAT)."""
    plan = tariff.plan
    described: dict = {
        "plan_id": tariff.plan_id,
        "plan_version": tariff.plan_version,
        "zone": result.zone,
        "band": result.band,
        "currency": str(plan.currency),
        "first_charge": result.first_charge_minor,  # in the tenant's currency, as debited
        "vat_rate": str(vat_rate) if tariff.billing_mode is BillingMode.PREPAID else None,
    }
    if request.service in DURATION_SERVICES:
        rate = plan.duration_rate(request.service, result.zone, result.band)
        if rate is not None:
            groups = rate.groups
            described |= {
                "price": str(groups[0].rate),
                "per_seconds": rate.rate_unit_s,
                "increments": f"{groups[0].increment_s}/{groups[-1].increment_s}",
                "connect_fee": str(rate.connect_fee),
                "minimum_charge": str(rate.minimum_charge),
            }
        return described
    price = _unit_price(plan, tariff, request, result.zone)
    unit = "segment" if request.service is Service.SMS else "message"
    return described | {"price": None if price is None else str(price), "per": unit}


def _unit_price(plan: RatePlan, tariff: Tariff, request: Request, zone: str) -> Decimal | None:
    if request.service is not Service.WHATSAPP:
        unit = plan.unit_rate(request.service, zone)
        return None if unit is None else unit.price
    destination = tariff.destinations.match(request.destination, request.at)
    market = (destination.market or destination.country) if destination else ""
    unit = plan.whatsapp_rate(request.category, market)
    return None if unit is None else unit.price
