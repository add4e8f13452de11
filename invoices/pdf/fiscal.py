"""What a fiscalised document prints in its VFD block: TRA's answer and the device's counters.

A fiscal receipt shows the receipt number (RCTNUM = GC), the daily counter (DC), the
Z number (ZNUM, the receipt date as YYYYMMDD), the VFD serial and UIN, the verification
code (RCTVNUM) and a QR code of the verification URL (reference/invoicing.md, part b).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Fiscal:
    verification_code: str  # RCTVNUM = RECEIPTCODE + GC
    verification_url: str  # what the QR code holds (`invoices.vfd.qr.verification_url`)
    receipt_number: int  # RCTNUM, equal to the global counter GC
    z_number: str  # ZNUM: the receipt date as YYYYMMDD
    daily_counter: int  # DC: restarts at 1 each day
    issued_at: datetime  # the receipt's DATE and TIME as sent to TRA
    vfd_serial: str = ""  # EFDSERIAL from the registration reply
    uin: str = ""  # the VFD's UIN from the registration reply
