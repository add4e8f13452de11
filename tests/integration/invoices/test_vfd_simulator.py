"""client.py against the TRA simulator over real loopback HTTP."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from billing.core.money import Currency
from invoices.document import DocumentKind, LineItem, Party, build_document
from invoices.vat import VatCode
from invoices.vfd.client import Credentials, Endpoints, VfdClient
from invoices.vfd.devcert import make_self_signed_pfx
from invoices.vfd.errors import TokenRefused, TraUnreachable
from invoices.vfd.receipt import (
    EAT,
    Customer,
    CustomerIdType,
    DeviceIdentity,
    build_rct,
    receipt_for_document,
)
from invoices.vfd.signing import envelope, load_pfx
from invoices.vfd.zreport import ZReport, ZReportHeader, build_zreport

DEVICE = DeviceIdentity("100000001", "TZ0100000001", "10TZ100000", "A1B2C3")
DOC = build_document(
    kind=DocumentKind.INVOICE,
    number="INV-1",
    issued_on=date(2025, 1, 31),
    seller=Party("Malipo", "Dar", "100000001", "40012345K"),
    buyer=Party("Tenant", "Arusha", "100000002"),
    currency=Currency.TZS,
    items=[LineItem("SMS", Decimal(1000), Decimal("18.5"), VatCode.A, "SMS")],
)


def signed_receipt(key, gc, dc, month=1, day=31, hour=10):
    issued = datetime(2025, month, day, hour, 0, gc % 60, tzinfo=EAT)
    customer = Customer(CustomerIdType.TIN, "100000002", "Tenant")
    receipt = receipt_for_document(DOC, DEVICE, customer, gc=gc, dc=dc, issued_at=issued)
    return envelope(build_rct(receipt), key)


def test_register_then_post_in_order(tra, vfd, vfd_key):
    state, _ = tra
    reg = vfd.register("100-000-001", "10TZ100000")
    assert reg.ack.accepted and reg.receipt_code == "A1B2C3" and reg.gc == 1
    for gc, dc in [(1, 1), (2, 2), (3, 3)]:
        ack = vfd.post_receipt(signed_receipt(vfd_key, gc, dc))
        assert ack.accepted, ack.message
        assert ack.number == str(gc)
    assert len(state.accepted) == 3


def test_registration_refusals(tra, vfd):
    assert vfd.register("100000001", "WRONGKEY").ack.code == 6
    assert vfd.register("100000009", "10TZ100000").ack.code == 6


def test_counter_rules(tra, vfd, vfd_key):
    assert vfd.post_receipt(signed_receipt(vfd_key, 1, 1)).accepted
    skipped = vfd.post_receipt(signed_receipt(vfd_key, 3, 2))
    assert not skipped.accepted and "GC must be 2" in skipped.message
    wrong_dc = vfd.post_receipt(signed_receipt(vfd_key, 2, 5))
    assert not wrong_dc.accepted and "DC" in wrong_dc.message
    duplicate = vfd.post_receipt(signed_receipt(vfd_key, 1, 1))
    assert not duplicate.accepted and "Duplicate" in duplicate.message
    restarted_too_soon = vfd.post_receipt(signed_receipt(vfd_key, 2, 1, hour=23))
    assert not restarted_too_soon.accepted  # still 31 January: DC must be 2
    assert vfd.post_receipt(signed_receipt(vfd_key, 2, 2)).accepted
    assert vfd.post_receipt(signed_receipt(vfd_key, 3, 1, month=2, day=1)).accepted


def test_tampered_or_foreign_signature_is_ack_1(tra, vfd, vfd_key):
    body = signed_receipt(vfd_key, 1, 1).replace(b"<DC>1</DC>", b"<DC>1</DC> ")
    assert vfd.post_receipt(body).code == 1
    other = load_pfx(make_self_signed_pfx(0x69C5AF01, "pw"), "pw")  # same serial, other key
    assert vfd.post_receipt(signed_receipt(other, 1, 1)).code == 1


def test_unknown_certificate_serial_is_ack_6(tra, vfd_key):
    state, base_url = tra
    stranger = load_pfx(make_self_signed_pfx(0x1234, "pw"), "pw")
    client = VfdClient(Endpoints.test(base_url), stranger,
                       credentials=Credentials(state.username, state.password))  # fmt: skip
    assert client.post_receipt(signed_receipt(stranger, 1, 1)).code == 6


@pytest.mark.parametrize("fault", ["ack1", "ack3", "ack6"])
def test_injected_ack_failures(tra, vfd, vfd_key, fault):
    state, _ = tra
    state.faults.append(fault)
    ack = vfd.post_receipt(signed_receipt(vfd_key, 1, 1))
    assert not ack.accepted and ack.code == int(fault[3:])
    assert vfd.post_receipt(signed_receipt(vfd_key, 1, 1)).accepted  # same bytes, retried


@pytest.mark.parametrize("fault", ["timeout", "http500"])
def test_unreachable_then_retry_with_identical_bytes(tra, vfd, vfd_key, fault):
    state, _ = tra
    state.faults.append(fault)
    body = signed_receipt(vfd_key, 1, 1)
    with pytest.raises(TraUnreachable):
        vfd.post_receipt(body)
    assert state.accepted == []
    assert vfd.post_receipt(body).accepted
    assert state.accepted == [body.split(b"<EFDMS>")[1].split(b"<EFDMSSIGNATURE>")[0]]


def test_nothing_listening_is_unreachable(vfd_key):
    client = VfdClient(Endpoints.test("http://127.0.0.1:9"), vfd_key,
                       credentials=Credentials("u", "p"), timeout=(0.5, 0.5))  # fmt: skip
    with pytest.raises(TraUnreachable):
        client.post_receipt(b"x")


def test_expired_token_is_renewed(tra, vfd, vfd_key):
    state, _ = tra
    assert vfd.post_receipt(signed_receipt(vfd_key, 1, 1)).accepted
    state.faults.append("expire_token")
    assert vfd.post_receipt(signed_receipt(vfd_key, 2, 2)).accepted
    assert len(state.tokens) == 1


@pytest.mark.parametrize("fault", ["token8", "token18"])
def test_token_refusals(tra, vfd, fault):
    state, _ = tra
    state.faults.append(fault)
    with pytest.raises(TokenRefused) as exc:
        vfd.token()
    assert exc.value.ack_code == int(fault[5:])


def test_zreport(tra, vfd, vfd_key):
    z = ZReport(
        day=date(2025, 1, 31),
        issued_at=datetime(2025, 2, 1, 2, 0, tzinfo=EAT),
        header=ZReportHeader("Malipo", "Samora", "255700000000", "Dar es Salaam"),
        vrn="40012345K", tin="100000001", tax_office="Ilala", regid="TZ0100000001",
        efd_serial="10TZ100000", registration_date=date(2025, 1, 1), uin="09VFDWEBAPI-SIM",
        daily_total_minor=DOC.totals.gross_minor, gross_minor=DOC.totals.gross_minor,
        tickets_fiscal=1, vat_totals=DOC.vat_summary,
    )  # fmt: skip
    ack = vfd.post_zreport(envelope(build_zreport(z), vfd_key))
    assert ack.accepted and ack.number == "20250131"


def z_for(day, issued, *, tickets=0, total=0, tin="100000001", serial="10TZ100000"):
    return ZReport(
        day=day, issued_at=issued,
        header=ZReportHeader("Malipo", "Samora", "255700000000", "Dar es Salaam"),
        vrn="40012345K", tin=tin, tax_office="Ilala", regid="TZ0100000001",
        efd_serial=serial, registration_date=date(2025, 1, 1), uin="09VFDWEBAPI-SIM",
        daily_total_minor=total, gross_minor=total, tickets_fiscal=tickets,
    )  # fmt: skip


def test_zreport_rules_one_per_day_dates_and_the_days_totals(tra, vfd, vfd_key):
    state, _ = tra
    for gc in (1, 2):
        assert vfd.post_receipt(signed_receipt(vfd_key, gc, gc)).accepted
    night = datetime(2025, 2, 1, 2, 0, tzinfo=EAT)
    post = lambda z: vfd.post_zreport(envelope(build_zreport(z), vfd_key))  # noqa: E731
    gross = 2 * DOC.totals.gross_minor
    wrong = post(z_for(date(2025, 1, 31), night, tickets=1, total=DOC.totals.gross_minor))
    assert wrong.code == 5 and "totals differ" in wrong.message
    assert post(z_for(date(2025, 2, 2), night)).code == 5  # a day not begun yet
    assert post(z_for(date(2025, 1, 31), night, tin="100000009")).code == 3
    assert post(z_for(date(2025, 1, 31), night, serial="10TZ999999")).code == 6
    assert post(z_for(date(2025, 1, 31), night, tickets=2, total=gross)).accepted
    again = post(z_for(date(2025, 1, 31), night, tickets=2, total=gross))
    assert again.code == 5 and "already received" in again.message
    assert list(state.zreports) == ["20250131"]


def test_zreport_needs_its_routing_key_and_a_signature(tra, vfd, vfd_key):
    import requests

    state, base_url = tra
    body = envelope(build_zreport(z_for(date(2025, 1, 30), datetime(2025, 1, 31, tzinfo=EAT))),
                    vfd_key).replace(b"<TICKETSFISCAL>0<", b"<TICKETSFISCAL>9<")  # fmt: skip
    assert vfd.post_zreport(body).code == 1  # the signature no longer matches
    wrong_key = requests.post(
        Endpoints.test(base_url).zreport, data=body, timeout=5,
        headers={"Routing-Key": "vfdrct", "Authorization": f"bearer {vfd.token()}",
                 "Cert-Serial": vfd_key.cert_serial},
    )  # fmt: skip
    assert wrong_key.status_code == 400
    assert state.zreports == {}
