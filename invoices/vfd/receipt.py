"""The compact `<RCT>` receipt TRA signs and stores, built byte for byte.

Field order, formats and codes follow reference/invoicing.md part (b): DATE `YYYY-MM-DD`
and TIME `HH:MM:SS` in Tanzanian time, RCTNUM = GC, ZNUM = the date as YYYYMMDD,
RCTVNUM = RECEIPTCODE + GC, ITEM/AMT VAT-inclusive, PAYMENTS and VATTOTALS as flat
repeated tags. No whitespace anywhere: the signature covers these exact bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum, StrEnum
from xml.sax.saxutils import escape

from invoices.document import Document, DocumentKind
from invoices.taxpayer import normalise_tin
from invoices.vat import RateTotal, VatCode

# Tanzania keeps East Africa Time all year (no DST), so a fixed offset is exact.
EAT = timezone(timedelta(hours=3), "EAT")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class CustomerIdType(IntEnum):
    TIN = 1
    DRIVING_LICENCE = 2
    VOTERS_ID = 3
    PASSPORT = 4
    NATIONAL_ID = 5
    NIL = 6
    METER_NUMBER = 7  # GoVFD only; TRA's rules list 1..6


class PaymentType(StrEnum):
    CASH = "CASH"
    CHEQUE = "CHEQUE"
    CCARD = "CCARD"
    EMONEY = "EMONEY"
    INVOICE = "INVOICE"  # a credit sale: an unpaid postpaid invoice


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """The seller's VFD, as the registration reply describes it."""

    tin: str
    regid: str
    efd_serial: str
    receipt_code: str


@dataclass(frozen=True, slots=True)
class Customer:
    id_type: CustomerIdType = CustomerIdType.NIL
    id: str = ""
    name: str = ""
    mobile: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    item_id: str
    description: str
    quantity: Decimal
    vat_code: VatCode
    amount_minor: int  # VAT-inclusive, TZS


@dataclass(frozen=True, slots=True)
class Payment:
    type: PaymentType
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Receipt:
    device: DeviceIdentity
    customer: Customer
    gc: int
    dc: int
    issued_at: datetime
    items: tuple[ReceiptItem, ...]
    vat_totals: tuple[RateTotal, ...]
    payments: tuple[Payment, ...]
    discount_minor: int = 0

    @property
    def local_time(self) -> datetime:
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at must be timezone-aware")
        return self.issued_at.astimezone(EAT)

    @property
    def date(self) -> str:
        return self.local_time.strftime("%Y-%m-%d")

    @property
    def time(self) -> str:
        return self.local_time.strftime("%H:%M:%S")

    @property
    def znum(self) -> str:
        return self.local_time.strftime("%Y%m%d")

    @property
    def rctvnum(self) -> str:
        return f"{self.device.receipt_code}{self.gc}"


def receipt_for_document(
    doc: Document,
    device: DeviceIdentity,
    customer: Customer,
    *,
    gc: int,
    dc: int,
    issued_at: datetime,
    payments: Sequence[Payment] = (),
) -> Receipt:
    """The fiscal receipt of a finalised invoice, in TZS whatever the invoice currency.

    Without `payments` the whole amount goes as INVOICE (a credit sale).
    """
    if doc.kind is not DocumentKind.INVOICE:
        # Open question for TRA (reference part a): how adjustment notes are fiscalised.
        raise ValueError("only invoices and receipts are fiscalised; ask TRA about credit notes")
    lines, summary, totals = doc.in_tzs()
    items = tuple(
        ReceiptItem(ln.item_id or str(i + 1), ln.description, ln.quantity, ln.vat_code,
                    tx.gross_minor)
        for i, (ln, tx) in enumerate(zip(doc.lines, lines, strict=True))
    )  # fmt: skip
    paid = tuple(payments) or (Payment(PaymentType.INVOICE, totals.gross_minor),)
    return Receipt(device, customer, gc, dc, issued_at, items, summary, paid)


def build_rct(receipt: Receipt) -> str:
    """The exact `<RCT>…</RCT>` string to sign and send."""
    _check(receipt)
    r, cust = receipt, receipt.customer
    gross = sum(item.amount_minor for item in r.items)
    net = sum(v.net_minor for v in r.vat_totals)
    return "".join(
        [
            "<RCT>",
            _tag("DATE", r.date),
            _tag("TIME", r.time),
            _tag("TIN", normalise_tin(r.device.tin)),
            _tag("REGID", r.device.regid),
            _tag("EFDSERIAL", r.device.efd_serial),
            _tag("CUSTIDTYPE", str(int(cust.id_type))),
            _tag("CUSTID", _customer_id(cust)),
            _tag("CUSTNAME", _text(cust.name)),
            _tag("MOBILENUM", re.sub(r"\D", "", cust.mobile)),
            _tag("RCTNUM", str(r.gc)),
            _tag("DC", str(r.dc)),
            _tag("GC", str(r.gc)),
            _tag("ZNUM", r.znum),
            _tag("RCTVNUM", r.rctvnum),
            "<ITEMS>",
            *(_item(item) for item in r.items),
            "</ITEMS>",
            "<TOTALS>",
            _tag("TOTALTAXEXCL", amount(net)),
            _tag("TOTALTAXINCL", amount(gross - r.discount_minor)),
            _tag("DISCOUNT", amount(r.discount_minor)),
            "</TOTALS>",
            "<PAYMENTS>",
            *(_tag("PMTTYPE", p.type.value) + _tag("PMTAMOUNT", amount(p.amount_minor))
              for p in r.payments),
            "</PAYMENTS>",
            "<VATTOTALS>",
            *(_vat_total(v) for v in sorted(r.vat_totals, key=lambda v: v.code)),
            "</VATTOTALS>",
            "</RCT>",
        ]
    )  # fmt: skip


def amount(minor: int) -> str:
    """Minor units as TRA writes money: two decimals, point separator, no grouping."""
    return str(Decimal(minor).scaleb(-2).quantize(Decimal("0.01")))


def quantity(qty: Decimal) -> str:
    text = format(qty.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _item(item: ReceiptItem) -> str:
    return (
        "<ITEM>"
        + _tag("ID", _text(item.item_id))
        + _tag("DESC", _text(item.description))
        + _tag("QTY", quantity(item.quantity))
        + _tag("TAXCODE", str(item.vat_code.taxcode))
        + _tag("AMT", amount(item.amount_minor))
        + "</ITEM>"
    )


def _vat_total(v: RateTotal) -> str:
    return (
        _tag("VATRATE", v.code.value)
        + _tag("NETTAMOUNT", amount(v.net_minor))
        + _tag("TAXAMOUNT", amount(v.vat_minor))
    )


def _tag(name: str, value: str) -> str:
    return f"<{name}>{value}</{name}>"


def _text(value: str) -> str:
    # Line breaks and control characters break TRA's signature check (ACK 1).
    return escape(" ".join(_CONTROL.sub(" ", value).split()))


def _customer_id(cust: Customer) -> str:
    if cust.id_type is CustomerIdType.TIN:
        return normalise_tin(cust.id)  # RULES #20: exactly 9 digits
    if cust.id_type is CustomerIdType.NIL:
        return ""
    return _text(cust.id)


def _check(r: Receipt) -> None:
    if r.gc < 1 or r.dc < 1:
        raise ValueError("GC and DC start at 1")
    if not r.items:
        raise ValueError("a receipt has at least one item")
    if {i.vat_code for i in r.items} != {v.code for v in r.vat_totals}:
        raise ValueError("VATTOTALS must cover exactly the items' VAT codes")
    gross = sum(i.amount_minor for i in r.items) - r.discount_minor
    if sum(v.gross_minor for v in r.vat_totals) != gross:
        raise ValueError("VATTOTALS do not add up to TOTALTAXINCL")
    if sum(p.amount_minor for p in r.payments) != gross:
        raise ValueError("PAYMENTS do not add up to TOTALTAXINCL")
