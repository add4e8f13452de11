import base64

import pytest

from invoices.vfd.devcert import make_self_signed_pfx
from invoices.vfd.signing import (
    cert_serial_header,
    envelope,
    load_pfx,
    open_envelope,
    sign,
    verify,
)


def test_pfx_loads_key_and_certificate(signing_key):
    assert signing_key.private_key.key_size == 2048
    assert signing_key.certificate.serial_number == 0x69C5AF01


def test_wrong_pfx_password_fails(test_pfx):
    with pytest.raises(ValueError):
        load_pfx(test_pfx, "not-it")


def test_cert_serial_header_is_base64_of_spaced_hex_pairs(signing_key):
    assert base64.b64decode(signing_key.cert_serial) == b"69 c5 af 01"


def test_odd_length_serial_is_padded_to_whole_bytes():
    key = load_pfx(make_self_signed_pfx(0xABC, "pw"), "pw")
    assert base64.b64decode(cert_serial_header(key.certificate)) == b"0a bc"


def test_signature_round_trip_over_exact_bytes(signing_key):
    payload = "<REGDATA><TIN>100000001</TIN><CERTKEY>10TZ100000</CERTKEY></REGDATA>"
    signature = sign(payload, signing_key)
    public = signing_key.certificate.public_key()
    assert verify(payload.encode(), signature, public)
    assert sign(payload, signing_key) == signature  # PKCS#1 v1.5 is deterministic
    assert not verify((payload + " ").encode(), signature, public)
    assert not verify(payload.encode(), "not base64!", public)


def test_signature_does_not_verify_with_another_key(signing_key):
    other = load_pfx(make_self_signed_pfx(1, "pw"), "pw")
    payload = "<RCT><DATE>2025-01-31</DATE></RCT>"
    assert not verify(payload.encode(), sign(payload, signing_key), other.certificate.public_key())


def test_envelope_shape_and_reopening(signing_key):
    body = envelope("<ZREPORT><DATE>2025-01-31</DATE></ZREPORT>", signing_key)
    text = body.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><EFDMS><ZREPORT>')
    assert text.endswith("</EFDMSSIGNATURE></EFDMS>")
    payload, _ = open_envelope(body)
    assert payload == b"<ZREPORT><DATE>2025-01-31</DATE></ZREPORT>"
    with pytest.raises(ValueError):
        open_envelope(b"<EFDMS><RCT/></EFDMS>")
