from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.core.money import Currency
from invoices.document import DocumentKind, LineItem, Party, build_document
from invoices.vat import VatCode
from invoices.vfd.receipt import (
    EAT,
    Customer,
    CustomerIdType,
    DeviceIdentity,
    Payment,
    PaymentType,
    amount,
    build_rct,
    quantity,
    receipt_for_document,
)
from invoices.vfd.signing import envelope, open_envelope, verify

# The reference's sample receipt (shared/reference/invoicing.md), compact.
GOLDEN_RCT = (
    "<RCT><DATE>2025-01-31</DATE><TIME>10:15:30</TIME>"
    "<TIN>100000001</TIN><REGID>TZ0100000001</REGID><EFDSERIAL>10TZ100000</EFDSERIAL>"
    "<CUSTIDTYPE>1</CUSTIDTYPE><CUSTID>100000002</CUSTID><CUSTNAME>Tenant Co Ltd</CUSTNAME>"
    "<MOBILENUM>255700000000</MOBILENUM>"
    "<RCTNUM>123</RCTNUM><DC>7</DC><GC>123</GC><ZNUM>20250131</ZNUM><RCTVNUM>A1B2C3123</RCTVNUM>"
    "<ITEMS>"
    "<ITEM><ID>SMS-BULK</ID><DESC>Bulk SMS January 2025</DESC><QTY>1</QTY><TAXCODE>1</TAXCODE>"
    "<AMT>118000.00</AMT></ITEM>"
    "<ITEM><ID>VOICE-INTL</ID><DESC>Intl voice termination</DESC><QTY>1</QTY><TAXCODE>3</TAXCODE>"
    "<AMT>50000.00</AMT></ITEM>"
    "</ITEMS>"
    "<TOTALS><TOTALTAXEXCL>150000.00</TOTALTAXEXCL><TOTALTAXINCL>168000.00</TOTALTAXINCL>"
    "<DISCOUNT>0.00</DISCOUNT></TOTALS>"
    "<PAYMENTS><PMTTYPE>INVOICE</PMTTYPE><PMTAMOUNT>168000.00</PMTAMOUNT></PAYMENTS>"
    "<VATTOTALS><VATRATE>A</VATRATE><NETTAMOUNT>100000.00</NETTAMOUNT><TAXAMOUNT>18000.00</TAXAMOUNT>"
    "<VATRATE>C</VATRATE><NETTAMOUNT>50000.00</NETTAMOUNT><TAXAMOUNT>0.00</TAXAMOUNT></VATTOTALS>"
    "</RCT>"
)

DEVICE = DeviceIdentity("100000001", "TZ0100000001", "10TZ100000", "A1B2C3")
CUSTOMER = Customer(CustomerIdType.TIN, "100-000-002", "Tenant Co Ltd", "+255 700-000-000")
ISSUED_AT = datetime(2025, 1, 31, 10, 15, 30, tzinfo=EAT)


def sample_document(**overrides):
    args = dict(
        kind=DocumentKind.INVOICE,
        number="INV-2025-000123",
        issued_on=date(2025, 1, 31),
        seller=Party("Malipo Cloud Ltd", "Dar es Salaam", "100000001", "40012345K"),
        buyer=Party("Tenant Co Ltd", "Arusha", "100000002"),
        currency=Currency.TZS,
        prices_include_vat=True,
        items=[
            LineItem("Bulk SMS January 2025", Decimal(1), Decimal(118000), VatCode.A, "SMS-BULK"),
            LineItem("Intl voice termination", Decimal(1), Decimal(50000), VatCode.C, "VOICE-INTL"),
        ],
    )
    return build_document(**(args | overrides))


def sample_receipt(**overrides):
    args = dict(gc=123, dc=7, issued_at=ISSUED_AT)
    return receipt_for_document(sample_document(), DEVICE, CUSTOMER, **(args | overrides))


def test_golden_rct():
    assert build_rct(sample_receipt()) == GOLDEN_RCT


def test_golden_rct_envelope_verifies_with_the_test_certificate(signing_key):
    body = envelope(GOLDEN_RCT, signing_key)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><EFDMS><RCT>')
    payload, signature = open_envelope(body)
    assert payload == GOLDEN_RCT.encode()
    assert verify(payload, signature, signing_key.certificate.public_key())
    assert not verify(payload.replace(b"118000.00", b"118000.01"), signature,
                      signing_key.certificate.public_key())  # fmt: skip


def test_time_is_tanzanian_whatever_zone_it_comes_in():
    utc = datetime(2025, 1, 31, 22, 0, 5, tzinfo=UTC)  # 01:00:05 next day in Dar
    receipt = sample_receipt(issued_at=utc)
    assert (receipt.date, receipt.time, receipt.znum) == ("2025-02-01", "01:00:05", "20250201")
    with pytest.raises(ValueError):
        sample_receipt(issued_at=datetime(2025, 1, 31)).date  # noqa: B018


def test_anonymous_customer_and_paid_receipt():
    receipt = receipt_for_document(
        sample_document(), DEVICE, Customer(), gc=1, dc=1, issued_at=ISSUED_AT,
        payments=[Payment(PaymentType.EMONEY, 16800000)],
    )  # fmt: skip
    xml = build_rct(receipt)
    assert "<CUSTIDTYPE>6</CUSTIDTYPE><CUSTID></CUSTID><CUSTNAME></CUSTNAME>" in xml
    assert "<PMTTYPE>EMONEY</PMTTYPE><PMTAMOUNT>168000.00</PMTAMOUNT>" in xml


def test_text_is_escaped_and_flattened():
    receipt = receipt_for_document(
        sample_document(), DEVICE,
        Customer(CustomerIdType.PASSPORT, "AB<1>", "Smith & Sons\n<Ltd>"),
        gc=1, dc=1, issued_at=ISSUED_AT,
    )  # fmt: skip
    xml = build_rct(receipt)
    assert "<CUSTNAME>Smith &amp; Sons &lt;Ltd&gt;</CUSTNAME>" in xml
    assert "<CUSTID>AB&lt;1&gt;</CUSTID>" in xml
    assert "\n" not in xml


def test_tin_customer_id_must_be_nine_digits():
    bad = Customer(CustomerIdType.TIN, "12345678", "X")
    with pytest.raises(ValueError):
        build_rct(receipt_for_document(sample_document(), DEVICE, bad, gc=1, dc=1,
                                       issued_at=ISSUED_AT))  # fmt: skip


def test_counters_and_payments_are_checked():
    with pytest.raises(ValueError):
        build_rct(sample_receipt(gc=0))
    short = [Payment(PaymentType.CASH, 100)]
    with pytest.raises(ValueError, match="PAYMENTS"):
        build_rct(sample_receipt(payments=short))


def test_credit_notes_are_not_fiscalised_yet():
    note = sample_document(kind=DocumentKind.CREDIT_NOTE)
    with pytest.raises(ValueError):
        receipt_for_document(note, DEVICE, CUSTOMER, gc=1, dc=1, issued_at=ISSUED_AT)


def test_usd_invoice_goes_to_tra_in_tzs():
    from invoices.document import ExchangeRate

    doc = sample_document(
        currency=Currency.USD,
        exchange_rate=ExchangeRate(Decimal(2500), "Bank of Tanzania", date(2025, 1, 31)),
        items=[LineItem("SMS", Decimal(1), Decimal("11.80"), VatCode.A, "SMS")],
    )
    xml = build_rct(receipt_for_document(doc, DEVICE, CUSTOMER, gc=5, dc=1, issued_at=ISSUED_AT))
    assert "<AMT>29500.00</AMT>" in xml
    assert "<TOTALTAXEXCL>25000.00</TOTALTAXEXCL><TOTALTAXINCL>29500.00</TOTALTAXINCL>" in xml


@pytest.mark.parametrize(
    ("minor", "text"), [(0, "0.00"), (5, "0.05"), (11800000, "118000.00"), (-150, "-1.50")]
)
def test_amount_format(minor, text):
    assert amount(minor) == text


@pytest.mark.parametrize(
    ("qty", "text"), [(Decimal(1), "1"), (Decimal("2.50"), "2.5"), (Decimal("1E+1"), "10")]
)
def test_quantity_format(qty, text):
    assert quantity(qty) == text
