"""The daily `<ZREPORT>`, sent before the next day's sales open (Routing-Key vfdzreport).

Layout from reference/invoicing.md part (b): four HEADER lines, all five VAT rates as
`A-18.00` … `E-0.00`, all five payment types, and the fixed WEBAPI firmware fields.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from invoices.taxpayer import normalise_tin
from invoices.vat import STANDARD_RATES, RateTotal, VatCode, zreport_rate_label
from invoices.vfd.receipt import EAT, PaymentType, amount


@dataclass(frozen=True, slots=True)
class ZReportHeader:
    name: str
    street: str
    mobile: str
    city: str
    country: str = "Tanzania"

    def lines(self) -> list[str]:
        return [
            self.name.upper(),
            self.street.upper(),
            f"MOBILE: {self.mobile}",
            f"{self.city},{self.country}".upper(),
        ]


@dataclass(frozen=True, slots=True)
class ZReport:
    day: date  # the business day reported: ZNUMBER
    issued_at: datetime
    header: ZReportHeader
    vrn: str
    tin: str
    tax_office: str
    regid: str
    efd_serial: str
    registration_date: date
    uin: str
    daily_total_minor: int
    gross_minor: int  # cumulative since registration
    tickets_fiscal: int
    vat_totals: Sequence[RateTotal] = ()
    payments: Mapping[PaymentType, int] = field(default_factory=dict)
    corrections_minor: int = 0
    discounts_minor: int = 0
    surcharges_minor: int = 0
    tickets_void: int = 0
    tickets_void_total_minor: int = 0
    tickets_nonfiscal: int = 0
    rates: Mapping[VatCode, Decimal] = field(default_factory=lambda: STANDARD_RATES)

    @property
    def znumber(self) -> str:
        return self.day.strftime("%Y%m%d")


def build_zreport(z: ZReport) -> str:
    """The exact `<ZREPORT>…</ZREPORT>` string to sign and send."""
    local = z.issued_at.astimezone(EAT)
    return "".join(
        [
            "<ZREPORT>",
            _tag("DATE", local.strftime("%Y-%m-%d")),
            _tag("TIME", local.strftime("%H:%M:%S")),
            "<HEADER>", *(_tag("LINE", _esc(line)) for line in z.header.lines()), "</HEADER>",
            _tag("VRN", z.vrn),
            _tag("TIN", normalise_tin(z.tin)),
            _tag("TAXOFFICE", _esc(z.tax_office)),
            _tag("REGID", z.regid),
            _tag("ZNUMBER", z.znumber),
            _tag("EFDSERIAL", z.efd_serial),
            _tag("REGISTRATIONDATE", z.registration_date.isoformat()),
            _tag("USER", z.uin),
            _tag("SIMIMSI", "WEBAPI"),
            _totals(z),
            _vat_totals(z),
            _payments(z),
            "<CHANGES>", _tag("VATCHANGENUM", "0"), _tag("HEADCHANGENUM", "0"), "</CHANGES>",
            _tag("ERRORS", ""),
            _tag("FWVERSION", "3.0"),
            _tag("FWCHECKSUM", "WEBAPI"),
            "</ZREPORT>",
        ]
    )  # fmt: skip


def _totals(z: ZReport) -> str:
    return (
        "<TOTALS>"
        + _tag("DAILYTOTALAMOUNT", amount(z.daily_total_minor))
        + _tag("GROSS", amount(z.gross_minor))
        + _tag("CORRECTIONS", amount(z.corrections_minor))
        + _tag("DISCOUNTS", amount(z.discounts_minor))
        + _tag("SURCHARGES", amount(z.surcharges_minor))
        + _tag("TICKETSVOID", str(z.tickets_void))
        + _tag("TICKETSVOIDTOTAL", amount(z.tickets_void_total_minor))
        + _tag("TICKETSFISCAL", str(z.tickets_fiscal))
        + _tag("TICKETSNONFISCAL", str(z.tickets_nonfiscal))
        + "</TOTALS>"
    )


def _vat_totals(z: ZReport) -> str:
    by_code = {v.code: v for v in z.vat_totals}
    parts = ["<VATTOTALS>"]
    for code in VatCode:
        row = by_code.get(code)
        parts += [
            _tag("VATRATE", zreport_rate_label(code, z.rates[code])),
            _tag("NETTAMOUNT", amount(row.net_minor if row else 0)),
            _tag("TAXAMOUNT", amount(row.vat_minor if row else 0)),
        ]
    return "".join([*parts, "</VATTOTALS>"])


def _payments(z: ZReport) -> str:
    parts = ["<PAYMENTS>"]
    for kind in PaymentType:
        parts += [_tag("PMTTYPE", kind.value), _tag("PMTAMOUNT", amount(z.payments.get(kind, 0)))]
    return "".join([*parts, "</PAYMENTS>"])


def _tag(name: str, value: str) -> str:
    return f"<{name}>{value}</{name}>"


def _esc(text: str) -> str:
    return escape(" ".join(text.split()))


@dataclass(frozen=True, slots=True)
class DayTotals:
    """What one day's acknowledged receipts add up to, read from their signed `<RCT>`s."""

    tickets: int = 0
    total_minor: int = 0  # Σ TOTALTAXINCL
    vat_totals: tuple[RateTotal, ...] = ()
    payments: Mapping[PaymentType, int] = field(default_factory=dict)


def day_totals(
    receipts: Iterable[bytes], rates: Mapping[VatCode, Decimal] = STANDARD_RATES
) -> DayTotals:
    """Add up `<RCT>` payloads (the signed bytes, without the envelope) exactly as TRA got
    them: the Z report then agrees with TRA's own count whatever the documents say now."""
    tickets, total = 0, 0
    net: dict[VatCode, int] = {}
    vat: dict[VatCode, int] = {}
    paid: dict[PaymentType, int] = {}
    for payload in receipts:
        rct = ET.fromstring(payload)  # noqa: S314  # our own signed receipt
        tickets += 1
        total += _minor(rct.findtext("TOTALS/TOTALTAXINCL", "0"))
        for kind, value in _pairs(rct.find("PAYMENTS"), "PMTTYPE", "PMTAMOUNT"):
            paid[PaymentType(kind)] = paid.get(PaymentType(kind), 0) + _minor(value)
        group = rct.find("VATTOTALS")
        for code, (net_text, tax_text) in _triples(group):
            net[code] = net.get(code, 0) + _minor(net_text)
            vat[code] = vat.get(code, 0) + _minor(tax_text)
    rows = tuple(
        RateTotal(code, rates[code], net[code], vat[code]) for code in VatCode if code in net
    )
    return DayTotals(tickets, total, rows, paid)


def _pairs(group: ET.Element | None, first: str, second: str) -> Iterator[tuple[str, str]]:
    children = list(group) if group is not None else []
    for a, b in zip(children[::2], children[1::2], strict=True):
        if (a.tag, b.tag) != (first, second):
            raise ValueError(f"unexpected {a.tag}/{b.tag} in {group.tag}")  # type: ignore[union-attr]
        yield a.text or "", b.text or ""


def _triples(group: ET.Element | None) -> Iterator[tuple[VatCode, tuple[str, str]]]:
    children = list(group) if group is not None else []
    for i in range(0, len(children), 3):
        rate, nett, tax = children[i : i + 3]
        if (rate.tag, nett.tag, tax.tag) != ("VATRATE", "NETTAMOUNT", "TAXAMOUNT"):
            raise ValueError("VATTOTALS is not VATRATE/NETTAMOUNT/TAXAMOUNT groups")
        yield VatCode((rate.text or "")[:1]), (nett.text or "0", tax.text or "0")


def _minor(text: str) -> int:
    """ "118000.00" → 11800000, exactly (receipt amounts are TZS with two decimals)."""
    cents = Decimal(text).scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"amount {text} has more than two decimals")
    return int(cents)
