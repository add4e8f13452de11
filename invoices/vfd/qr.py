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


def qr_svg(url: str, *, scale: int = 4) -> str:
    """An inline SVG (no XML declaration) for the PDF template."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, nl=False
    )
    return buffer.getvalue().decode("utf-8")
