"""The document's data as JSON, attached to the PDF/A-3b file (relationship "Data").

JSON rather than XML: Tanzania has no e-invoice XML standard (no Factur-X or UBL
profile is prescribed), so there is no schema an XML file could be valid against; the
fiscal `<RCT>` XML is TRA's and is kept, signed, with the receipt. A versioned JSON
document parses in any accounting tool with no schema at hand, and keeps every figure
exact: amounts are integer minor units, quantities and rates are decimal strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from invoices.document import Document, Party, Totals
from invoices.pdf.annex import AnnexRow
from invoices.pdf.fiscal import Fiscal
from invoices.pdf.numbers import exact_price
from invoices.vat import RateTotal

SCHEMA = "malipo.tax-document/1"
MEDIA_TYPE = "application/json"


def attachment_name(document: Document) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in document.number)
    return f"{safe or 'document'}.json"


def document_json(document: Document, *, fiscal: Fiscal | None, annex: Sequence[AnnexRow]) -> str:
    return json.dumps(_document(document, fiscal, annex), ensure_ascii=False,
                      separators=(",", ":"))  # fmt: skip


def _document(doc: Document, fiscal: Fiscal | None, annex: Sequence[AnnexRow]) -> dict:
    return {
        "schema": SCHEMA,
        "kind": doc.kind.value,
        "number": doc.number,
        "issued_on": doc.issued_on.isoformat(),
        "is_copy": doc.is_copy,
        "currency": doc.currency.value,
        "minor_unit_exponent": doc.currency.exponent,
        "prices_include_vat": doc.prices_include_vat,
        "seller": _party(doc.seller),
        "buyer": _party(doc.buyer),
        "lines": [
            {
                "item_id": ln.item_id,
                "description": ln.description,
                "quantity": str(ln.quantity),
                "unit_price": exact_price(ln.unit_price),
                "vat_code": ln.vat_code.value,
                "net_minor": ln.net_minor,
                "vat_minor": ln.vat_minor,
                "gross_minor": ln.gross_minor,
            }
            for ln in doc.lines
        ],
        "vat_summary": [_rate_total(r) for r in doc.vat_summary],
        "totals": _totals(doc.totals),
        "tzs": None if doc.tzs is None else {
            "tzs_per_unit": str(doc.tzs.rate.tzs_per_unit),
            "source": doc.tzs.rate.source,
            "on": doc.tzs.rate.on.isoformat(),
            "vat_summary": [_rate_total(r) for r in doc.tzs.vat_summary],
            "totals": _totals(doc.tzs.totals),
        },
        "original": None if doc.original is None else {
            "number": doc.original.number,
            "issued_on": doc.original.issued_on.isoformat(),
        },
        "reason": doc.reason,
        "fiscal": None if fiscal is None else _fiscal(fiscal),
        "annex": {
            "columns": ["occurred_at", "service", "destination", "zone", "billed_units",
                        "unit", "net_minor"],
            "rows": [_annex_row(row) for row in annex],
        },
    }  # fmt: skip


def _party(party: Party) -> dict:
    return asdict(party)


def _totals(totals: Totals) -> dict:
    return {"net_minor": totals.net_minor, "vat_minor": totals.vat_minor,
            "gross_minor": totals.gross_minor}  # fmt: skip


def _rate_total(total: RateTotal) -> dict:
    return {"code": total.code.value, "rate": str(total.rate), "net_minor": total.net_minor,
            "vat_minor": total.vat_minor, "gross_minor": total.gross_minor}  # fmt: skip


def _fiscal(fiscal: Fiscal) -> dict:
    return asdict(fiscal) | {"issued_at": fiscal.issued_at.isoformat()}


def _annex_row(row: AnnexRow) -> list:
    return [row.occurred_at.isoformat(), row.service, row.destination, row.zone,
            row.billed_units, row.unit, row.net_minor]  # fmt: skip
