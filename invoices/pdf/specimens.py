"""Specimen documents with fictitious parties: an invoice, a credit note, a USD invoice,
their VFD receipts and a usage annex. The tests, the benchmark and anyone previewing the
templates render these, so they all look at the same pages.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from billing.core.money import Currency
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
from invoices.pdf.annex import AnnexRow
from invoices.pdf.fiscal import Fiscal
from invoices.vat import VatCode
from invoices.vfd.qr import VERIFY_TEST, verification_code, verification_url

SELLER = Party(
    "Malipo Cloud Communications Ltd",
    "Plot 12, Ali Hassan Mwinyi Road\nP.O. Box 1234, Dar es Salaam",
    "100000001",
    "40012345K",
)
BUYER = Party("Duka la Simu Ltd", "Sokoine Road 7\nP.O. Box 2, Arusha", "123456789", "10017937K")
RECEIPT_CODE = "A1B2C3"

_ITEMS = (
    LineItem("Voice, Tanzania mobile (per second)", Decimal(182_340), Decimal("0.35"),
             VatCode.A, "VOICE-TZ-MOB"),
    LineItem("Voice, Tanzania fixed (per second)", Decimal(12_060), Decimal("0.30"),
             VatCode.A, "VOICE-TZ-FIX"),
    LineItem("Bulk SMS, Tanzania", Decimal(48_200), Decimal("18.00"), VatCode.A, "SMS-TZ"),
    LineItem("WhatsApp business sessions", Decimal(1_250), Decimal("45.50"), VatCode.A, "WA"),
    LineItem("AI voice agent minutes", Decimal("3125.5"), Decimal("120.00"), VatCode.A, "AI"),
    LineItem("IVR numbers, monthly rental", Decimal(4), Decimal("25000.00"), VatCode.A, "DID"),
    LineItem("Voice termination for a non-resident carrier (s.63)", Decimal(64_000),
             Decimal("0.42"), VatCode.C, "VOICE-TERM"),
    LineItem("Mobile-money collection fees (exempt financial service)", Decimal(1),
             Decimal("15400.00"), VatCode.E, "MM-FEES"),
)  # fmt: skip


def pay_to(reference: str) -> PaymentInstructions:
    return PaymentInstructions(
        reference=reference, bank_name="CRDB Bank PLC, Azikiwe branch",
        account_name="Malipo Cloud Communications Ltd", account_number="0150-2345-6789-00",
        swift="CORUTZTZ", mobile_money_name="M-Pesa Lipa Namba", mobile_money_number="5123456",
    )  # fmt: skip


def invoice(*, number: str = "INV-2026-000123", is_copy: bool = False) -> Document:
    doc = build_document(
        kind=DocumentKind.INVOICE, number=number, issued_on=date(2026, 10, 31),
        seller=SELLER, buyer=BUYER, currency=Currency.TZS, items=_ITEMS,
    )  # fmt: skip
    return dataclasses.replace(
        doc, is_copy=is_copy, period=BilledPeriod(date(2026, 10, 1), date(2026, 10, 31)),
        due_on=date(2026, 11, 30), pay_to=pay_to(number),
    )  # fmt: skip


def receipt() -> Document:
    """A prepaid top-up's fiscal receipt: VAT-inclusive, paid by M-Pesa."""
    doc = build_document(
        kind=DocumentKind.INVOICE, number="RCT-2026-000481", issued_on=date(2026, 10, 14),
        seller=SELLER, buyer=BUYER, currency=Currency.TZS, prices_include_vat=True,
        items=[LineItem("Prepaid communication services (wallet top-up)", Decimal(1),
                        Decimal("50000.00"), VatCode.A, "TOPUP-MPESA")],
    )  # fmt: skip
    at = datetime(2026, 10, 14, 6, 42, 10, tzinfo=UTC)
    paid = PaymentReceived("M-Pesa (mobile money)", "QJK5T7ZP2M", at, "0754 *** 321")
    return dataclasses.replace(doc, paid=paid)


def usd_invoice() -> Document:
    return build_document(
        kind=DocumentKind.INVOICE, number="INV-2026-000124", issued_on=date(2026, 10, 31),
        seller=SELLER, buyer=Party("Kilima Tours Ltd", "Njiro Road 3\nArusha", "145678901",
                                   "40987654T"),
        currency=Currency.USD,
        items=[
            LineItem("Voice, international outbound (per minute)", Decimal(8_450),
                     Decimal("0.045"), VatCode.A, "VOICE-INTL"),
            LineItem("Bulk SMS, international", Decimal(12_000), Decimal("0.021"),
                     VatCode.A, "SMS-INTL"),
            LineItem("Dedicated SIP trunk, monthly", Decimal(1), Decimal("150.00"),
                     VatCode.A, "SIP"),
        ],
        exchange_rate=ExchangeRate(Decimal("2530.1234"), "Bank of Tanzania", date(2026, 10, 31)),
    )  # fmt: skip


def credit_note() -> Document:
    return build_document(
        kind=DocumentKind.CREDIT_NOTE, number="CN-2026-000007", issued_on=date(2026, 11, 4),
        seller=SELLER, buyer=BUYER, currency=Currency.TZS,
        items=[LineItem("Bulk SMS, Tanzania: 2,400 messages not delivered", Decimal(2_400),
                        Decimal("18.00"), VatCode.A, "SMS-TZ")],
        original=OriginalInvoice("INV-2026-000123", date(2026, 10, 31)),
        reason="Messages billed on 12 October 2026 were rejected by the operator "
               "and never delivered",
    )  # fmt: skip


def fiscal(document: Document, *, gc: int = 123, daily_counter: int = 7) -> Fiscal:
    """A VFD receipt as TRA's test environment would confirm it for `document`."""
    at = datetime.combine(document.issued_on, datetime.min.time()).replace(
        hour=10, minute=15, second=30
    )
    rctvnum = verification_code(RECEIPT_CODE, gc)
    return Fiscal(
        verification_code=rctvnum,
        verification_url=verification_url(rctvnum, at.time(), base=VERIFY_TEST),
        receipt_number=gc,
        z_number=at.strftime("%Y%m%d"),
        daily_counter=daily_counter,
        issued_at=at,
        vfd_serial="10TZ100000",
        uin="09VFDWEBAPI-10000000110TZ100000",
    )  # fmt: skip


_ZONES = (
    ("voice", "TZ-MOB-VODACOM", "second", "+25575"), ("voice", "TZ-FIX", "second", "+25522"),
    ("sms", "TZ-MOB-YAS", "segment", "+25571"), ("whatsapp", "TZ-MOB-AIRTEL", "message",
    "+25568"), ("voice", "INT-KE-MOB", "second", "+25472"),
)  # fmt: skip


def annex_rows(count: int, *, start: datetime | None = None) -> list[AnnexRow]:
    """`count` usage records spread over October 2026; deterministic."""
    start = start or datetime(2026, 10, 1, tzinfo=UTC)
    step = timedelta(days=31) / max(count, 1)
    rows = []
    for i in range(count):
        service, zone, unit, prefix = _ZONES[i % len(_ZONES)]
        units = 1 if unit != "second" else 6 + (i * 37) % 900
        rows.append(AnnexRow(
            occurred_at=start + step * i,
            service=service,
            destination=f"{prefix}{(i * 7919) % 10_000_000:07d}",
            zone=zone,
            billed_units=units,
            unit=unit,
            net_minor=units * 35 if unit == "second" else 1800,
        ))  # fmt: skip
    return rows
