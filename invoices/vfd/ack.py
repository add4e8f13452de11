"""TRA's answers read into values. Only ACKCODE 0 is success; anything else, even an
unknown code or a missing one, is not.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # TRA's reply, parsed without DTDs
from dataclasses import dataclass
from enum import IntEnum

from invoices.vfd.errors import MalformedResponse


class AckCode(IntEnum):
    SUCCESS = 0
    INVALID_SIGNATURE = 1  # missing nodes, whitespace or empty lines in the signed XML
    INVALID_TIN = 3  # e.g. sent with dashes
    APPROVAL_REQUIRED = 4  # VFD registration approval required / no Client header
    UNHANDLED_EXCEPTION = 5
    INVALID_SERIAL = 6  # certificate serial not registered to the Web API / TIN
    INVALID_CLIENT_HEADER = 7
    WRONG_CERTIFICATE = 8


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgement: of a receipt (`RCTACK`), a Z report (`ZACK`) or registration."""

    code: int
    message: str
    number: str = ""  # RCTNUM or ZNUMBER echoed back
    date: str = ""
    time: str = ""

    @property
    def accepted(self) -> bool:
        return self.code == AckCode.SUCCESS

    @property
    def meaning(self) -> str:
        try:
            return AckCode(self.code).name.lower()
        except ValueError:
            return "unknown"


@dataclass(frozen=True, slots=True)
class Registration:
    """What the registration reply gives us to keep (RULES #1-3: store it)."""

    ack: Ack
    regid: str
    serial: str
    uin: str
    tin: str
    vrn: str
    receipt_code: str
    routing_key: str
    gc: int
    tax_office: str
    username: str
    password: str
    token_path: str
    tax_codes: dict[str, str]
    name: str = ""
    address: str = ""


def parse_receipt_ack(body: bytes) -> Ack:
    return _ack(_child(_root(body), "RCTACK"), "RCTNUM")


def parse_zreport_ack(body: bytes) -> Ack:
    return _ack(_child(_root(body), "ZACK"), "ZNUMBER")


def parse_registration(body: bytes) -> Registration:
    resp = _child(_root(body), "EFDMSRESP")
    ack = _ack(resp, "REGID")
    taxcodes = resp.find("TAXCODES")
    return Registration(
        ack=ack,
        regid=_text(resp, "REGID"),
        serial=_text(resp, "SERIAL"),
        uin=_text(resp, "UIN"),
        tin=_text(resp, "TIN"),
        vrn=_text(resp, "VRN"),
        receipt_code=_text(resp, "RECEIPTCODE"),
        routing_key=_text(resp, "ROUTINGKEY"),
        gc=int(_text(resp, "GC") or 0),
        tax_office=_text(resp, "TAXOFFICE"),
        username=_text(resp, "USERNAME"),
        password=_text(resp, "PASSWORD"),
        token_path=_text(resp, "TOKENPATH"),
        tax_codes=_children(taxcodes),
        name=_text(resp, "NAME"),
        address=_text(resp, "ADDRESS"),
    )


def parse_error_message(body: bytes) -> str:
    """The `<Error><Message>` TRA sends with HTTP 500, or the raw text if it is not that."""
    try:
        return _text(_root(body), "Message") or body.decode("utf-8", "replace")
    except MalformedResponse:
        return body.decode("utf-8", "replace")[:500]


def _root(body: bytes) -> ET.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedResponse("TRA replies carry no DTD")
    try:
        return ET.fromstring(body)  # noqa: S314  # DTDs refused above
    except ET.ParseError as exc:
        raise MalformedResponse(f"unreadable XML from TRA: {exc}") from exc


def _child(root: ET.Element, tag: str) -> ET.Element:
    found = root if root.tag == tag else root.find(tag)
    if found is None:
        raise MalformedResponse(f"no <{tag}> in TRA's reply")
    return found


def _ack(node: ET.Element, number_tag: str) -> Ack:
    raw = _text(node, "ACKCODE")
    try:
        code = int(raw)
    except ValueError as exc:
        raise MalformedResponse(f"ACKCODE {raw!r} is not a number") from exc
    return Ack(
        code=code,
        message=_text(node, "ACKMSG"),
        number=_text(node, number_tag),
        date=_text(node, "DATE"),
        time=_text(node, "TIME"),
    )


def _children(node: ET.Element | None) -> dict[str, str]:
    return {} if node is None else {c.tag: (c.text or "").strip() for c in node}


def _text(node: ET.Element, tag: str) -> str:
    child = node.find(tag)
    return (child.text or "").strip() if child is not None else ""
