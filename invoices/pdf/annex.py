"""One rated usage record as the invoice's usage annex lists it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AnnexRow:
    occurred_at: datetime
    service: str  # e.g. "voice", "sms", "whatsapp"
    destination: str  # the called number or prefix, as the tenant may see it
    zone: str  # the rating zone, e.g. "TZ mobile", "Kenya"
    billed_units: int  # after rounding to the rating increment
    unit: str  # "s", "message", "session"
    net_minor: int  # the charge before VAT, in the document's currency
