"""An invoice row as the library's `Document` and its fiscal `Receipt`.

Everything a document shows is fixed at finalise (number, date, parties, rate), so
building it again later — to render, to re-render after ACK — gives the same figures.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.core.clock import utcnow
from billing.core.money import Currency
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.states import InvoiceSource
from billing.tenants.address import postal_address
from billing.tenants.models import Tenant
from billing.topups.models import Topup
from billing.topups.receipts import WALLET_NAMES
from invoices.document import (
    BilledPeriod,
    Document,
    DocumentKind,
    ExchangeRate,
    LineItem,
    OriginalInvoice,
    Party,
    PaymentInstructions,
    PaymentReceived,
    build_document,
)
from invoices.pdf import wording
from invoices.vat import VatCode
from invoices.vfd.receipt import EAT, Customer, CustomerIdType

# How the seller is paid (settings: MALIPO_SELLER), frozen on each document at finalise.
PAYMENT_KEYS = ("bank_name", "bank_account_name", "bank_account", "bank_swift",
                "mobile_money_name", "mobile_money_number")  # fmt: skip


def parties_of(seller: dict[str, str], tenant: Tenant) -> dict[str, Any]:
    """The seller (from settings) and the buyer (the tenant) as they stand at finalise."""
    return {
        "seller": {
            k: seller.get(k) or "" for k in ("name", "address", "tin", "vrn", *PAYMENT_KEYS)
        },
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


def due_on(issued: date, terms_days: int) -> date:
    """The due date of a postpaid invoice issued on `issued` under the tenant's terms."""
    return issued + timedelta(days=terms_days)


def describe(line: InvoiceLine, language: str) -> str:
    """The line as the document's reader says it; lines made before lines knew their
    service and zone keep their stored (English) text."""
    if line.service and line.adjustment and line.adjusts_month:
        usage = wording.usage_description(line.service, line.zone or "", language)
        return wording.adjustment_description(line.adjustment, line.adjusts_month, usage,
                                              language)  # fmt: skip
    if line.service:
        return wording.usage_description(line.service, line.zone or "", language)
    if line.item_id.startswith("TOPUP-"):
        return wording.TOPUP[language]
    return line.description


def payment_instructions(invoice: Invoice) -> PaymentInstructions | None:
    """Where and how to pay a postpaid invoice, quoting its number; None if the seller
    set up neither a bank account nor a mobile-money pay number."""
    seller = (invoice.parties or {}).get("seller") or {}
    if not (seller.get("bank_account") or seller.get("mobile_money_number")):
        return None
    return PaymentInstructions(
        reference=invoice.number_text or "",
        bank_name=seller.get("bank_name", ""),
        account_name=seller.get("bank_account_name", ""),
        account_number=seller.get("bank_account", ""),
        swift=seller.get("bank_swift", ""),
        mobile_money_name=seller.get("mobile_money_name", ""),
        mobile_money_number=seller.get("mobile_money_number", ""),
    )


def payment_received(topup: Topup) -> PaymentReceived:
    """A top-up receipt's payment: the wallet or card, and the operator's reference."""
    wallet = WALLET_NAMES.get(topup.provider, topup.provider)
    method = "Card" if topup.provider == "card" else f"{wallet} (mobile money)"
    payer = (
        f"0{topup.msisdn[-9:-6]} *** {topup.msisdn[-3:]}" if len(topup.msisdn or "") >= 9 else ""
    )
    return PaymentReceived(
        method=method,
        reference=topup.provider_txn_id or topup.provider_ref or topup.reference,
        paid_at=topup.updated_at or topup.created_at,
        payer="" if topup.provider == "card" else payer,
    )


def document_of(
    invoice: Invoice,
    *,
    number: str | None = None,
    on: date | None = None,
    original: Invoice | None = None,
    language: str = "en",
    topup: Topup | None = None,
) -> Document:
    """The invoice as a document. `language` names its lines (the fiscal receipt's
    DESC is English); `topup` makes a top-up's document a receipt of that payment."""
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
                description=describe(line, language),
                quantity=line.quantity,
                unit_price=line.unit_price,
                vat_code=VatCode(line.vat_code),
                item_id=line.item_id,
                unit=line.unit,
            )
            for line in invoice.lines
        ],
        prices_include_vat=invoice.prices_include_vat,
        exchange_rate=rate,
        line_vats=(
            [line.vat_minor for line in invoice.lines]
            if invoice.lines and all(line.vat_minor is not None for line in invoice.lines)
            else None
        ),
        original=(
            OriginalInvoice(original.number_text or "", issued_on(original))
            if original is not None
            else None
        ),
        reason=invoice.reason,
    )
    if invoice.rctvnum:
        doc = dataclasses.replace(doc, verification_code=invoice.rctvnum)
    if invoice.source is InvoiceSource.POSTPAID and invoice.period_start and invoice.period_end:
        doc = dataclasses.replace(
            doc,
            period=BilledPeriod(invoice.period_start, invoice.period_end - timedelta(days=1)),
            due_on=invoice.due_on,
            pay_to=payment_instructions(invoice),
        )
    if topup is not None:
        doc = dataclasses.replace(doc, paid=payment_received(topup))
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


def credited_quantity(amount_minor: int, unit_price: Decimal) -> Decimal | None:
    """How many units of a line at `unit_price` make `amount_minor` credited, to the
    line's quantity precision (6 places) and only if it gives back the amount exactly:
    TZS 180.00 of a line at 60.00 a minute is 3 minutes. None when no such quantity is."""
    if unit_price <= 0:
        return None
    quantity = (Decimal(amount_minor).scaleb(-2) / unit_price).quantize(
        Decimal("1E-6"), ROUND_HALF_UP
    )
    exact = (quantity * unit_price).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return quantity if quantity > 0 and exact == Decimal(amount_minor).scaleb(-2) else None


def totals_of(invoice: Invoice) -> tuple[int, int, int]:
    """(net, VAT, gross): as fixed at finalise, or for a draft (or voided draft) as
    its lines stand now, worked out by the same rule: a preview of what it will say."""
    if invoice.issued_at is not None or not invoice.lines:
        return invoice.net_minor, invoice.vat_minor, invoice.gross_minor
    totals = document_of(invoice, number="", on=utcnow().astimezone(EAT).date()).totals
    return totals.net_minor, totals.vat_minor, totals.gross_minor
