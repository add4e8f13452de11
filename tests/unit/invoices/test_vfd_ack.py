import pytest

from invoices.vat import VatCode, rates_from_taxcodes
from invoices.vfd.ack import (
    AckCode,
    parse_error_message,
    parse_receipt_ack,
    parse_registration,
    parse_zreport_ack,
)
from invoices.vfd.errors import MalformedResponse


def rctack(code: str, msg: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><EFDMS><RCTACK><RCTNUM>123</RCTNUM>'
        f"<DATE>2025-01-31</DATE><TIME>10:15:31</TIME><ACKCODE>{code}</ACKCODE>"
        f"<ACKMSG>{msg}</ACKMSG></RCTACK><EFDMSSIGNATURE>c2ln</EFDMSSIGNATURE></EFDMS>"
    ).encode()


def test_ack_zero_is_the_only_success():
    ack = parse_receipt_ack(rctack("0", "Success"))
    assert ack.accepted and ack.meaning == "success"
    assert (ack.number, ack.date, ack.time, ack.message) == (
        "123", "2025-01-31", "10:15:31", "Success",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        ("1", "invalid_signature"),
        ("3", "invalid_tin"),
        ("4", "approval_required"),
        ("5", "unhandled_exception"),
        ("6", "invalid_serial"),
        ("7", "invalid_client_header"),
        ("8", "wrong_certificate"),
        ("2", "unknown"),
        ("99", "unknown"),
        ("-1", "unknown"),
    ],
)
def test_every_other_code_is_a_failure(code, meaning):
    ack = parse_receipt_ack(rctack(code, "FAIL"))
    assert not ack.accepted
    assert ack.code == int(code) and ack.meaning == meaning


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<EFDMS><RCTACK><RCTNUM>1</RCTNUM></RCTACK></EFDMS>",  # no ACKCODE
        rctack(""),
        rctack("zero"),
        b"<EFDMS><ZACK><ACKCODE>0</ACKCODE></ZACK></EFDMS>",  # a Z ack is not a receipt ack
        b'<!DOCTYPE x [<!ENTITY e "0">]><EFDMS><RCTACK><ACKCODE>&e;</ACKCODE></RCTACK></EFDMS>',
    ],
)
def test_unreadable_replies_are_never_success(body):
    with pytest.raises(MalformedResponse):
        parse_receipt_ack(body)


def test_zreport_ack():
    body = (
        b"<EFDMS><ZACK><ZNUMBER>20250131</ZNUMBER><DATE>2025-02-01</DATE><TIME>00:10:00</TIME>"
        b"<ACKCODE>0</ACKCODE><ACKMSG>Success</ACKMSG></ZACK><EFDMSSIGNATURE>x</EFDMSSIGNATURE>"
        b"</EFDMS>"
    )
    ack = parse_zreport_ack(body)
    assert ack.accepted and ack.number == "20250131"


def test_registration_reply():
    body = (
        b"<EFDMS><EFDMSRESP><ACKCODE>0</ACKCODE><ACKMSG>Registration Successful</ACKMSG>"
        b"<REGID>TZ0100000001</REGID><SERIAL>10TZ100000</SERIAL><UIN>09VFDWEBAPI-1</UIN>"
        b"<TIN>100000001</TIN><VRN>40012345K</VRN><MOBILE>255700000000</MOBILE>"
        b"<ADDRESS>P.O BOX 1</ADDRESS><STREET>Samora</STREET><CITY>DSM</CITY>"
        b"<COUNTRY>TANZANIA</COUNTRY><NAME>MALIPO CLOUD LTD</NAME><RECEIPTCODE>A1B2C3</RECEIPTCODE>"
        b"<REGION>Ilala</REGION><ROUTINGKEY>vfdrct</ROUTINGKEY><GC>1</GC>"
        b"<TAXOFFICE>Tax Office Ilala</TAXOFFICE><USERNAME>user</USERNAME>"
        b"<PASSWORD>secret</PASSWORD><TOKENPATH>vfdtoken</TOKENPATH>"
        b"<TAXCODES><CODEA>18</CODEA><CODEB>0</CODEB><CODEC>0</CODEC><CODED>0</CODED></TAXCODES>"
        b"</EFDMSRESP><EFDMSSIGNATURE>x</EFDMSSIGNATURE></EFDMS>"
    )
    reg = parse_registration(body)
    assert reg.ack.accepted
    assert (reg.regid, reg.receipt_code, reg.routing_key, reg.gc) == (
        "TZ0100000001", "A1B2C3", "vfdrct", 1,
    )  # fmt: skip
    assert (reg.username, reg.password, reg.uin, reg.vrn) == (
        "user", "secret", "09VFDWEBAPI-1", "40012345K",
    )  # fmt: skip
    assert rates_from_taxcodes(reg.tax_codes)[VatCode.A] == 18


def test_refused_registration_is_not_accepted():
    body = (
        b"<EFDMS><EFDMSRESP><ACKCODE>6</ACKCODE><ACKMSG>Invalid serial</ACKMSG></EFDMSRESP></EFDMS>"
    )
    reg = parse_registration(body)
    assert not reg.ack.accepted and reg.ack.code == AckCode.INVALID_SERIAL


def test_http_500_error_message():
    assert parse_error_message(b"<Error><Message>Boom</Message></Error>") == "Boom"
    assert parse_error_message(b"gateway timeout") == "gateway timeout"
