"""A document turned into the strings its template prints: every figure formatted once,
in Python, so the template only places text and the numbers stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from markupsafe import Markup

from billing.core.money import Currency
from invoices.document import Document, DocumentKind, Party, Totals
from invoices.pdf import numbers
from invoices.pdf.annex import AnnexRow
from invoices.pdf.fiscal import Fiscal
from invoices.pdf.labels import LABELS, Labels, code_meaning
from invoices.pdf.wording import annex_units, service_name, with_unit, zone_name
from invoices.taxpayer import format_tin, format_vrn
from invoices.vat import RateTotal
from invoices.vfd.qr import qr_svg
from invoices.words import amount_in_words


@dataclass(frozen=True)
class View:
    """What the template reads; `t` is the label table of the document's language."""

    language: str
    t: Labels
    title: str
    is_copy: bool
    doc: Document
    issued_on: str
    currency: str
    seller: dict
    buyer: dict
    lines: list[dict]
    summary: list[dict]
    totals: dict
    words: str
    line_amount: str  # the heading of the lines' amount column
    tzs: dict | None
    credit: dict | None
    fiscal: dict | None
    annex: dict | None
    meta: list[tuple[str, str]]  # number, date, period, due date, currency: as printed
    pay_to: dict | None
    paid: dict | None


LOCAL = ZoneInfo("Africa/Dar_es_Salaam")  # what Tanzanian documents are dated in


def build_view(
    doc: Document, language: str, annex: Sequence[AnnexRow], fiscal: Fiscal | None
) -> View:
    t = LABELS[language]
    cur = doc.currency
    title = "credit_note" if doc.kind is DocumentKind.CREDIT_NOTE else "invoice"
    return View(
        language=language,
        t=t,
        title=t["receipt" if doc.is_receipt else title],
        is_copy=doc.is_copy,
        doc=doc,
        issued_on=numbers.long_date(doc.issued_on, language),
        currency=cur.value,
        seller=_party(doc.seller, t),
        buyer=_party(doc.buyer, t),
        lines=[
            {
                "description": ln.description,
                "quantity": with_unit(numbers.decimal(ln.quantity), ln.unit, ln.quantity, language),
                "unit_price": numbers.unit_price(ln.unit_price),
                "code": ln.vat_code.value,
                # As billed: net, or gross when prices include VAT (a top-up). VAT
                # itself is per code on the sums (invoices.vat), so it is not printed
                # per line, where a one-cent allocation would look like an error.
                "amount": numbers.amount(
                    ln.gross_minor if doc.prices_include_vat else ln.net_minor, cur
                ),
            }
            for ln in doc.lines
        ],
        summary=_summary(doc.vat_summary, cur, language),
        totals=_totals(doc.totals, cur),
        words=amount_in_words(doc.totals.gross_minor, cur, language),
        line_amount=t.amount_incl if doc.prices_include_vat else t.amount_excl,
        tzs=_tzs(doc, language),
        credit=_credit(doc, language),
        fiscal=_fiscal(fiscal),
        annex=_annex(annex, cur, language) if annex else None,
        meta=_meta(doc, t, language),
        pay_to=_pay_to(doc),
        paid=_paid(doc, language),
    )


def _meta(doc: Document, t: Labels, language: str) -> list[tuple[str, str]]:
    rows = [(t.number, doc.number), (t.issued_on, numbers.long_date(doc.issued_on, language))]
    if doc.period is not None:
        first, last = doc.period.first_day, doc.period.last_day
        rows.append((t.period, numbers.date_range(first, last, language)))
    if doc.due_on is not None:
        rows.append((t.due_on, numbers.long_date(doc.due_on, language)))
    rows.append((t.currency, doc.currency.value))
    return rows


def _pay_to(doc: Document) -> dict | None:
    if doc.pay_to is None or doc.paid is not None or doc.kind is DocumentKind.CREDIT_NOTE:
        return None
    p = doc.pay_to
    return {
        "reference": p.reference,
        "bank": [value for value in (p.bank_name, p.account_name, p.account_number, p.swift)],
        "has_bank": bool(p.account_number),
        "mobile_money": p.mobile_money_name,
        "pay_number": p.mobile_money_number,
    }


def _paid(doc: Document, language: str) -> dict | None:
    if doc.paid is None:
        return None
    at = doc.paid.paid_at.astimezone(LOCAL)
    return {
        "method": doc.paid.method,
        "reference": doc.paid.reference,
        "at": f"{numbers.long_date(at.date(), language)} {at:%H:%M} EAT",
        "payer": doc.paid.payer,
    }


def _party(party: Party, t: Labels) -> dict:
    return {
        "name": party.name,
        "address": party.address,
        "tin": format_tin(party.tin) if party.tin else "",
        "vrn": format_vrn(party.vrn) if party.vrn else t.not_registered,
    }


def _summary(rows: Sequence[RateTotal], cur: Currency, language: str) -> list[dict]:
    return [
        {
            "code": r.code.value,
            "meaning": code_meaning(r.code, language),
            "rate": numbers.percent(r.rate),
            "net": numbers.amount(r.net_minor, cur),
            "vat": numbers.amount(r.vat_minor, cur),
            "gross": numbers.amount(r.gross_minor, cur),
        }
        for r in rows
    ]


def _totals(totals: Totals, cur: Currency) -> dict:
    return {
        "net": numbers.amount(totals.net_minor, cur),
        "vat": numbers.amount(totals.vat_minor, cur),
        "gross": numbers.amount(totals.gross_minor, cur),
    }


def _tzs(doc: Document, language: str) -> dict | None:
    if doc.tzs is None:
        return None
    rate = doc.tzs.rate
    return {
        "rate": f"1 {doc.currency.value} = {numbers.decimal(rate.tzs_per_unit)} TZS",
        "source": rate.source,
        "on": numbers.long_date(rate.on, language),
        "summary": _summary(doc.tzs.vat_summary, Currency.TZS, language),
        "totals": _totals(doc.tzs.totals, Currency.TZS),
    }


def _credit(doc: Document, language: str) -> dict | None:
    if doc.kind is not DocumentKind.CREDIT_NOTE:
        return None
    t = LABELS[language]
    # A credit note lowers the VAT payable by its VAT in TZS, however its figures are signed.
    if doc.tzs is None and doc.currency is not Currency.TZS:
        vat = f"{doc.currency.value} {numbers.amount(abs(doc.totals.vat_minor), doc.currency)}"
    else:
        vat = f"TZS {numbers.amount(abs(doc.in_tzs()[2].vat_minor), Currency.TZS)}"
    return {
        "original_number": doc.original.number if doc.original else "",
        "original_on": numbers.long_date(doc.original.issued_on, language) if doc.original else "",
        "reason": doc.reason,
        "vat_effect": f"{t['vat_decrease']} {vat}",
    }


def _fiscal(fiscal: Fiscal | None) -> dict | None:
    if fiscal is None:
        return None
    return {
        "verification_code": fiscal.verification_code,
        "verification_url": fiscal.verification_url,
        "receipt_number": str(fiscal.receipt_number),
        "z_number": fiscal.z_number,
        "daily_counter": str(fiscal.daily_counter),
        "receipt_time": fiscal.issued_at.strftime("%Y-%m-%d %H:%M:%S"),
        "vfd_serial": fiscal.vfd_serial,
        "uin": fiscal.uin,
        "qr": Markup(qr_svg(fiscal.verification_url, scale=3)),  # noqa: S704 (segno's own SVG)
    }


def _annex(rows: Sequence[AnnexRow], cur: Currency, language: str) -> dict:
    """Times in Tanzania's own clock (EAT), durations as a person reads them."""
    first = min(r.occurred_at for r in rows).astimezone(LOCAL)
    last = max(r.occurred_at for r in rows).astimezone(LOCAL)
    return {
        "from": numbers.long_date(first.date(), language),
        "to": numbers.long_date(last.date(), language),
        "rows": [
            (
                r.occurred_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S"),
                service_name(r.service, language),
                r.destination,
                zone_name(r.zone, language),
                annex_units(r.billed_units, r.unit, language),
                numbers.amount(r.net_minor, cur),
            )
            for r in rows
        ],
        "total": numbers.amount(sum(r.net_minor for r in rows), cur),
    }
