"""A tenant's postal address: normalised on the way in, one line on every document (pure)."""

from __future__ import annotations

import re

# The countries tenants are in today; any other ISO 3166-1 code prints as the code.
COUNTRY_NAMES = {
    "TZ": "Tanzania", "KE": "Kenya", "UG": "Uganda", "RW": "Rwanda", "BI": "Burundi",
    "CD": "DR Congo", "ZM": "Zambia", "MW": "Malawi", "MZ": "Mozambique", "ZA": "South Africa",
}  # fmt: skip
_PO_BOX = re.compile(r"(?:p\.?\s*o\.?\s*box|s\.?\s*l\.?\s*p\.?)?\s*(\d{1,10})", re.IGNORECASE)
# The same, as the document says it (JSON Schema has no flags): case spelt out.
PO_BOX_PATTERN = (
    r"^\s*([Pp]\.?\s*[Oo]\.?\s*[Bb][Oo][Xx]|[Ss]\.?\s*[Ll]\.?\s*[Pp]\.?)?\s*[0-9]{1,10}\s*$"
)


def normalise_po_box(text: str) -> str:
    """ "P.O. Box 1234", "S.L.P. 1234" (Swahili) or "1234" → "1234"."""
    found = _PO_BOX.fullmatch(text.strip())
    if not found:
        raise ValueError("a P.O. Box number, e.g. 1234 or P.O. Box 1234")
    return found.group(1)


def normalise_country(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError("an ISO 3166-1 alpha-2 country code, e.g. TZ")
    return code


def postal_address(
    street: str | None, po_box: str | None, city: str | None, country: str | None
) -> str:
    """ "Plot 5, Mikocheni, P.O. Box 1234, Dar es Salaam, Tanzania" (missing parts left out)."""
    parts = [
        street or "",
        f"P.O. Box {po_box}" if po_box else "",
        city or "",
        COUNTRY_NAMES.get(country or "", country or "") if (street or po_box or city) else "",
    ]
    return ", ".join(part for part in parts if part)
