"""The receipt verification link printed on every invoice, and its QR code.

TRA does not make the QR code; the seller's system does (tra-docs). The link is the
verify base + RCTVNUM + "_" + receipt time as HHMMSS (GoVFD `ReceiptLink`, VFDTZ).
"""

from __future__ import annotations

import io
from datetime import time

import segno

VERIFY_PRODUCTION = "https://verify.tra.go.tz/"
VERIFY_TEST = "https://virtual.tra.go.tz/efdmsRctVerify/"
# A fixed data mask (ISO/IEC 18004 pattern 7; any of the eight is a valid code, and a
# reader takes it from the symbol's format information). Letting segno try all eight
# and score each one in Python was three quarters of making the code, about 3% of an
# invoice's render. 7 is the pattern segno itself picked most often for these URLs.
QR_MASK = 7


def verification_code(receipt_code: str, gc: int) -> str:
    """RCTVNUM: the receipt code TRA assigned at registration followed by the GC."""
    return f"{receipt_code}{gc}"


def verification_url(rctvnum: str, receipt_time: time | str, base: str = VERIFY_PRODUCTION) -> str:
    hhmmss = (
        receipt_time.strftime("%H%M%S")
        if isinstance(receipt_time, time)
        else receipt_time.replace(":", "")
    )
    if len(hhmmss) != 6 or not hhmmss.isdigit():
        raise ValueError("the receipt time is HH:MM:SS")
    return f"{base.rstrip('/')}/{rctvnum}_{hhmmss}"


def qr_code(url: str) -> segno.QRCode:
    """The QR code of `url`: error correction level M, data mask `QR_MASK`."""
    return segno.make(url, error="m", micro=False, mask=QR_MASK)


def qr_svg(url: str, *, scale: int = 4) -> str:
    """An inline SVG (no XML declaration) for the PDF template."""
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, nl=False)
    return buffer.getvalue().decode("utf-8")
