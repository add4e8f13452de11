import xml.etree.ElementTree as ET
from datetime import time

import pytest
import segno

from invoices.vfd.qr import (
    QR_MASK,
    VERIFY_TEST,
    qr_code,
    qr_svg,
    verification_code,
    verification_url,
)


def test_verification_code_is_receipt_code_plus_gc():
    assert verification_code("A1B2C3", 123) == "A1B2C3123"


def test_verification_url():
    assert verification_url("A1B2C3123", "10:15:30") == "https://verify.tra.go.tz/A1B2C3123_101530"
    assert verification_url("A1B2C3123", time(9, 5, 7), VERIFY_TEST) == (
        "https://virtual.tra.go.tz/efdmsRctVerify/A1B2C3123_090507"
    )
    with pytest.raises(ValueError):
        verification_url("A1B2C3123", "10:15")


def test_qr_is_inline_svg():
    svg = qr_svg("https://verify.tra.go.tz/A1B2C3123_101530")
    assert svg.startswith("<svg") and "<?xml" not in svg
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"


def test_qr_code_is_level_m_with_the_fixed_mask_and_holds_the_url():
    url = "https://verify.tra.go.tz/A1B2C3123_101530"
    code = qr_code(url)
    assert (code.error, code.mask, code.is_micro) == ("M", QR_MASK, False)
    # The same symbol segno makes when asked for that mask: only the mask search is skipped.
    assert code == segno.make(url, error="m", micro=False, mask=QR_MASK)
    assert qr_svg(url).count("<path") == 1
