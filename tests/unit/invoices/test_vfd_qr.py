import xml.etree.ElementTree as ET
from datetime import time

import pytest

from invoices.vfd.qr import VERIFY_TEST, qr_svg, verification_code, verification_url


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
