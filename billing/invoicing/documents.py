"""An invoice row as the library's `Document` and its fiscal `Receipt`.

Everything a document shows is fixed at finalise (number, date, parties, rate), so
building it again later — to render, to re-render after ACK — gives the same figures.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from billing.core.money import Currency
from billing.invoicing.models import Invoice
from billing.tenants.address import postal_address
from billing.tenants.models import Tenant
from invoices.document import (
    Document,
    DocumentKind,
    ExchangeRate,
    LineItem,
    OriginalInvoice,
    Party,
    build_document,
)
from invoices.vat import VatCode
from invoices.vfd.receipt import EAT, Customer, CustomerIdType


def parties_of(seller: dict[str, str], tenant: Tenant) -> dict[str, Any]:
    """The seller (from settings) and the buyer (the tenant) as they stand at finalise."""
    return {
        "seller": {k: seller.get(k) or "" for k in ("name", "address", "tin", "vrn")},
        "buyer": {
            "name": tenant.name,
            "address": postal_address(tenant.street, tenant.po_box, tenant.city, tenant.country),
            "language": tenant.language.value,
            "tin": tenant.tin or "",
            "vrn": tenant.vrn or "",
            "email": tenant.email,
            "msisdn": tenant.msisdn,
        },
    }


def language_of(invoice: Invoice) -> str:
    """The buyer's language as it stood at finalise: every render of it uses the same."""
    return ((invoice.parties or {}).get("buyer") or {}).get("language") or "en"


def _party(data: dict[str, Any]) -> Party:
    return Party(
        name=data.get("name", ""),
        address=data.get("address", ""),
        tin=data.get("tin") or None,
        vrn=data.get("vrn") or None,
    )


def issued_on(invoice: Invoice) -> date:
    """The date of issue in Tanzania, which is the fiscal receipt's DATE too."""
    return invoice.issued_at.astimezone(EAT).date()


def document_of(
    invoice: Invoice,
    *,
    number: str | None = None,
    on: date | None = None,
    original: Invoice | None = None,
) -> Document:
    parties = invoice.parties or {"seller": {}, "buyer": {}}
    rate = None
    if invoice.exchange_rate is not None:
        rate = ExchangeRate(
            invoice.exchange_rate, invoice.rate_source or "", invoice.rate_on or on or date.min
        )
    doc = build_document(
        kind=DocumentKind(invoice.kind),
        number=number if number is not None else (invoice.number_text or ""),
        issued_on=on or issued_on(invoice),
        seller=_party(parties["seller"]),
        buyer=_party(parties["buyer"]),
        currency=Currency(invoice.currency),
        items=[
            LineItem(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                vat_code=VatCode(line.vat_code),
                item_id=line.item_id,
            )
            for line in invoice.lines
        ],
        prices_include_vat=invoice.prices_include_vat,
        exchange_rate=rate,
        original=(
            OriginalInvoice(original.number_text or "", issued_on(original))
            if original is not None
            else None
        ),
        reason=invoice.reason,
    )
    if invoice.rctvnum:
        doc = dataclasses.replace(doc, verification_code=invoice.rctvnum)
    return doc


def customer_of(invoice: Invoice) -> Customer:
    buyer = (invoice.parties or {}).get("buyer", {})
    tin = buyer.get("tin") or ""
    return Customer(
        id_type=CustomerIdType.TIN if tin else CustomerIdType.NIL,
        id=tin,
        name=buyer.get("name", ""),
        mobile=buyer.get("msisdn", ""),
    )


def unit_price_for(amount_minor: int, quantity: Decimal) -> Decimal:
    """A unit price that gives back exactly `amount_minor` when multiplied out and rounded."""
    if quantity == 0:
        raise ValueError("a line has a quantity")
    return (Decimal(amount_minor).scaleb(-2) / quantity).quantize(Decimal("1E-10"))
