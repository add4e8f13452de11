"""The tax invoice and credit note as plain values, built so their figures always add up.

`build_document` is the only way other code should make one: it prices the lines, runs
the VAT rounding rule of `invoices.vat`, and adds the TZS equivalent of a USD document.
`missing_fields` is the VAT Act checklist (s.86 invoice, s.87 adjustment note).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from billing.core.money import Currency, to_minor
from invoices.vat import STANDARD_RATES, LineTax, RateTotal, VatCode, tax_lines


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True, slots=True)
class Party:
    """Seller or buyer. TIN and VRN are stored bare (see `invoices.taxpayer`)."""

    name: str
    address: str = ""
    tin: str | None = None
    vrn: str | None = None


@dataclass(frozen=True, slots=True)
class LineItem:
    """What the caller bills: a quantity at a unit price (major units, any precision)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_code: VatCode = VatCode.A
    item_id: str = ""
    unit: str = ""  # what the quantity counts: "minute", "message", ""


@dataclass(frozen=True, slots=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_code: VatCode
    net_minor: int
    vat_minor: int
    gross_minor: int
    item_id: str = ""
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Totals:
    net_minor: int
    vat_minor: int
    gross_minor: int


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """TZS per one unit of the document's currency, and where it came from (e.g. BoT)."""

    tzs_per_unit: Decimal
    source: str
    on: date


@dataclass(frozen=True, slots=True)
class TzsEquivalent:
    """A foreign-currency document's figures in TZS, for the fiscal receipt and the PDF.

    Line amounts are converted, then taxed by the same rule, so they add up in TZS too.
    """

    rate: ExchangeRate
    lines: tuple[LineTax, ...]
    vat_summary: tuple[RateTotal, ...]
    totals: Totals


@dataclass(frozen=True, slots=True)
class OriginalInvoice:
    """The invoice a credit note adjusts (VAT Act s.87: the supply it relates to)."""

    number: str
    issued_on: date


@dataclass(frozen=True, slots=True)
class BilledPeriod:
    """The days a postpaid invoice bills, both inclusive (as printed)."""

    first_day: date
    last_day: date


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """How to pay an invoice: the seller's bank account and mobile-money pay number,
    with the reference the payment must carry (the invoice number)."""

    reference: str
    bank_name: str = ""
    account_name: str = ""
    account_number: str = ""
    swift: str = ""
    mobile_money_name: str = ""  # e.g. "M-Pesa Lipa kwa Simu"
    mobile_money_number: str = ""


@dataclass(frozen=True, slots=True)
class PaymentReceived:
    """A receipt's payment: how it was paid and the operator's transaction reference."""

    method: str  # e.g. "M-Pesa (mobile money)"
    reference: str  # the operator's transaction id
    paid_at: datetime
    payer: str = ""  # e.g. the paying MSISDN, masked


@dataclass(frozen=True, slots=True)
class Document:
    kind: DocumentKind
    number: str
    issued_on: date
    seller: Party
    buyer: Party
    currency: Currency
    prices_include_vat: bool
    lines: tuple[Line, ...]
    vat_summary: tuple[RateTotal, ...]
    totals: Totals
    tzs: TzsEquivalent | None = None
    original: OriginalInvoice | None = None
    reason: str = ""
    is_copy: bool = False  # s.86(4): a copy for a registered customer says so
    verification_code: str = ""  # the VFD RCTVNUM, set with `dataclasses.replace`
    period: BilledPeriod | None = None  # a postpaid invoice's billed days
    due_on: date | None = None  # a postpaid invoice's due date (the tenant's terms)
    pay_to: PaymentInstructions | None = None  # an invoice still to be paid
    paid: PaymentReceived | None = None  # set: the document is a receipt (paid already)

    @property
    def is_receipt(self) -> bool:
        return self.kind is DocumentKind.INVOICE and self.paid is not None

    def in_tzs(self) -> tuple[tuple[LineTax, ...], tuple[RateTotal, ...], Totals]:
        """Per-line amounts, VAT summary and totals in TZS, whatever the currency."""
        if self.tzs is not None:
            return self.tzs.lines, self.tzs.vat_summary, self.tzs.totals
        if self.currency != Currency.TZS:
            raise ValueError(f"a {self.currency} document needs an exchange rate for TZS")
        taxes = tuple(LineTax(ln.vat_code, ln.net_minor, ln.vat_minor) for ln in self.lines)
        return taxes, self.vat_summary, self.totals


def build_document(
    *,
    kind: DocumentKind,
    number: str,
    issued_on: date,
    seller: Party,
    buyer: Party,
    currency: Currency,
    items: Sequence[LineItem],
    prices_include_vat: bool = False,
    exchange_rate: ExchangeRate | None = None,
    original: OriginalInvoice | None = None,
    reason: str = "",
    rates: Mapping[VatCode, Decimal] = STANDARD_RATES,
    line_vats: Sequence[int] | None = None,
) -> Document:
    """A document whose lines, VAT summary and totals are consistent by construction.

    Each line's amount is quantity x unit price rounded half-up once; that amount is
    net, or gross when `prices_include_vat` (a prepaid top-up is a gross amount).
    `line_vats` fixes each line's VAT instead of the rounding rule (a credit note's,
    capped at what its invoice charged: billing.invoicing.credit_vat); the summary
    is then their sums per code.
    """
    currency = Currency(currency)
    amounts = [(it.vat_code, to_minor(it.quantity * it.unit_price, currency)) for it in items]
    taxes, summary = tax_lines(amounts, inclusive=prices_include_vat, rates=rates)
    if line_vats is not None:
        taxes, summary = _fixed_vats(amounts, line_vats, prices_include_vat, rates)
    lines = tuple(
        Line(it.description, it.quantity, it.unit_price, it.vat_code,
             tx.net_minor, tx.vat_minor, tx.gross_minor, it.item_id, it.unit)
        for it, tx in zip(items, taxes, strict=True)
    )  # fmt: skip
    tzs = None
    if currency != Currency.TZS and exchange_rate is not None:
        tzs = _tzs_equivalent(amounts, exchange_rate, prices_include_vat, rates)
    return Document(
        kind=kind,
        number=number,
        issued_on=issued_on,
        seller=seller,
        buyer=buyer,
        currency=currency,
        prices_include_vat=prices_include_vat,
        lines=lines,
        vat_summary=tuple(summary),
        totals=_totals(summary),
        tzs=tzs,
        original=original,
        reason=reason,
    )


def _fixed_vats(
    amounts: Sequence[tuple[VatCode, int]],
    vats: Sequence[int],
    inclusive: bool,
    rates: Mapping[VatCode, Decimal],
) -> tuple[list[LineTax], list[RateTotal]]:
    taxes = [
        LineTax(code, amount - vat if inclusive else amount, vat)
        for (code, amount), vat in zip(amounts, vats, strict=True)
    ]
    summary = [
        RateTotal(code, rates[code], sum(t.net_minor for t in taxes if t.code == code),
                  sum(t.vat_minor for t in taxes if t.code == code))
        for code in VatCode
        if any(t.code == code for t in taxes)
    ]  # fmt: skip
    return taxes, summary


def _totals(summary: Sequence[RateTotal]) -> Totals:
    net = sum(r.net_minor for r in summary)
    vat = sum(r.vat_minor for r in summary)
    return Totals(net, vat, net + vat)


def _tzs_equivalent(
    amounts: Sequence[tuple[VatCode, int]],
    rate: ExchangeRate,
    inclusive: bool,
    rates: Mapping[VatCode, Decimal],
) -> TzsEquivalent:
    # Both currencies have exponent 2, so minor x rate is TZS minor units.
    converted = [
        (code, to_minor(Decimal(minor).scaleb(-2) * rate.tzs_per_unit, Currency.TZS))
        for code, minor in amounts
    ]
    taxes, summary = tax_lines(converted, inclusive=inclusive, rates=rates)
    return TzsEquivalent(rate, tuple(taxes), tuple(summary), _totals(summary))


def missing_fields(
    doc: Document, *, business_buyer: bool = False, before_fiscal: bool = False
) -> list[str]:
    """Names of the checklist fields this document lacks; empty means it may be issued.

    `business_buyer`: require the buyer's address and TIN, without which the buyer
    cannot claim input tax (s.86(2)); recommended for every business tenant.
    `before_fiscal`: skip the VFD verification code, for a draft not yet numbered.
    """
    missing = [name for name, value in _required(doc, business_buyer) if not _present(value)]
    if not before_fiscal and not doc.verification_code.strip():
        missing.append("verification_code")
    if not doc.lines:
        missing.append("lines")
    for i, line in enumerate(doc.lines):
        if not line.description.strip():
            missing.append(f"lines[{i}].description")
        if line.quantity is None:
            missing.append(f"lines[{i}].quantity")
    if doc.currency != Currency.TZS:
        missing += _missing_tzs(doc)
    if doc.kind is DocumentKind.CREDIT_NOTE:
        missing += _missing_adjustment(doc)
    return missing


def _required(doc: Document, business_buyer: bool) -> list[tuple[str, object]]:
    fields: list[tuple[str, object]] = [
        ("number", doc.number),
        ("issued_on", doc.issued_on),
        ("seller.name", doc.seller.name),
        ("seller.address", doc.seller.address),
        ("seller.tin", doc.seller.tin),
        ("seller.vrn", doc.seller.vrn),
        ("buyer.name", doc.buyer.name),
    ]
    if business_buyer:
        fields += [("buyer.address", doc.buyer.address), ("buyer.tin", doc.buyer.tin)]
    return fields


def _missing_tzs(doc: Document) -> list[str]:
    if doc.tzs is None:
        return ["exchange_rate", "tzs_totals"]
    missing = []
    if not doc.tzs.rate.tzs_per_unit or doc.tzs.rate.tzs_per_unit <= 0:
        missing.append("exchange_rate.tzs_per_unit")
    if not doc.tzs.rate.source.strip():
        missing.append("exchange_rate.source")
    return missing


def _missing_adjustment(doc: Document) -> list[str]:
    missing = []
    if doc.original is None or not doc.original.number.strip():
        missing.append("original.number")
    if doc.original is None or doc.original.issued_on is None:
        missing.append("original.issued_on")
    if not doc.reason.strip():
        missing.append("reason")
    return missing


def _present(value: object) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))
