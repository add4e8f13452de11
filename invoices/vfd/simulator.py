"""A fake TRA VFD server for tests and local runs, strict where TRA is strict.

It checks headers, tokens and the SHA1withRSA signature against the test certificate,
and the counter rules: GC = last + 1, RCTNUM = GC, DC restarts at 1 each day, ZNUM =
DATE, 9-digit TIN, no RCTVNUM twice; a Z report per day (ZNUMBER the day it reports,
YYYYMMDD, not after its DATE, never twice), whose daily totals and ticket count must
match the receipts it accepted with that ZNUM when it saw that day. Faults can be
queued to exercise the client: "timeout", "http500", "ack1", "ack3", "ack6",
"expire_token", "token8", "token18".

TRA's real codes for counter or duplicate errors are not published; the simulator
answers those with ACKCODE 5 and a message saying which rule broke.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from cryptography import x509
from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.serving import make_server

from invoices.vfd.signing import cert_serial_header, open_envelope, verify

_PREFIX = "/efdmsRctApi"
_TIN = re.compile(r"\d{9}")


@dataclass
class TraState:
    certificate: x509.Certificate  # the client's, as TRA holds it after registration
    tin: str = "100000001"
    cert_key: str = "10TZ100000"
    receipt_code: str = "A1B2C3"
    username: str = "sim-user"
    password: str = "sim-pass"  # noqa: S105  # a simulator's fixed credential
    token_lifetime: int = 3600
    fault_delay: float = 2.0
    clock: Callable[[], float] = time.monotonic
    faults: deque[str] = field(default_factory=deque)
    last_gc: int = 0
    last_day: str = ""
    last_dc: int = 0
    seen_rctvnums: set[str] = field(default_factory=set)
    accepted: list[bytes] = field(default_factory=list)
    # Per ZNUM, what the accepted receipts add up to: [tickets, TOTALTAXINCL in cents].
    day_totals: dict[str, list[int]] = field(default_factory=dict)
    zreports: dict[str, bytes] = field(default_factory=dict)  # accepted, by ZNUMBER
    received: list[bytes] = field(default_factory=list)  # every receipt body, as it came
    tokens: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, *names: str) -> str | None:
        if self.faults and self.faults[0] in names:
            return self.faults.popleft()
        return None


def create_app(state: TraState) -> Flask:
    app = Flask("tra-simulator")
    app.register_blueprint(blueprint(state))
    return app


def blueprint(state: TraState, name: str = "tra_simulator") -> Blueprint:
    """The simulator's routes, to mount in another app (the service's sandbox mode)."""
    app = Blueprint(name, __name__)

    @app.post(f"{_PREFIX}/api/vfdRegReq")
    def register() -> Response:
        if request.headers.get("Client", "").lower() != "webapi":
            return _xml_ack("EFDMSRESP", 7, "Invalid client header")
        with state.lock:
            payload, failure = _check_signed(state)
            if failure:
                return _xml_ack("EFDMSRESP", *failure)
            root = ET.fromstring(payload)  # noqa: S314  # our own signed test payload
            if not _TIN.fullmatch(root.findtext("TIN", "")):
                return _xml_ack("EFDMSRESP", 3, "Invalid TIN")
            if root.findtext("TIN") != state.tin or root.findtext("CERTKEY") != state.cert_key:
                return _xml_ack("EFDMSRESP", 6, "Invalid Serial or Serial not Registered")
            return _xml(_registration(state))

    @app.post(f"{_PREFIX}/vfdtoken")
    def token() -> Response:
        with state.lock:
            refusal = state.take_fault("token8", "token18")
            if refusal:
                code = int(refusal.removeprefix("token"))
                return _token_refusal(code, "blocked" if code == 8 else "re-register")
            form = request.form
            valid = (form.get("username"), form.get("password")) == (
                state.username, state.password,
            )  # fmt: skip
            if not valid or form.get("grant_type") != "password":
                return _token_refusal(5, "invalid credentials")
            access = secrets.token_urlsafe(16)
            state.tokens[access] = state.clock() + state.token_lifetime
        response = jsonify(
            {"access_token": access, "token_type": "bearer", "expires_in": state.token_lifetime}
        )
        response.headers.update({"ACKCODE": "0", "ACKMSG": "Success"})
        return response

    @app.post(f"{_PREFIX}/api/efdmsRctInfo")
    def receipt() -> Response:
        return _authorised(state, "vfdrct", "RCTACK", _accept_receipt)

    @app.post(f"{_PREFIX}/api/efdmszreport")
    def zreport() -> Response:
        return _authorised(state, "vfdzreport", "ZACK", _accept_zreport)

    return app


def _authorised(
    state: TraState, routing_key: str, ack_tag: str, accept: Callable[[TraState, bytes], Response]
) -> Response:
    with state.lock:
        state.received.append(request.get_data())
    if state.take_fault("timeout"):
        time.sleep(state.fault_delay)  # the client gives up first; nothing is recorded
        return Response("<Error><Message>late</Message></Error>", 500)
    if state.take_fault("http500"):
        return Response("<Error><Message>Simulated failure</Message></Error>", 500)
    with state.lock:
        if state.take_fault("expire_token"):
            state.tokens.clear()
        bearer = request.headers.get("Authorization", "")
        expiry = state.tokens.get(bearer.removeprefix("bearer ").strip())
        if not bearer.lower().startswith("bearer ") or expiry is None or expiry < state.clock():
            return Response("token expired or invalid", 401)
        if request.headers.get("Routing-Key") != routing_key:
            return Response("wrong Routing-Key", 400)
        injected = state.take_fault("ack1", "ack3", "ack6")
        if injected:
            return _xml_ack(ack_tag, int(injected[3:]), "Simulated failure")
        payload, failure = _check_signed(state)
        if failure:
            return _xml_ack(ack_tag, *failure)
        return accept(state, payload)


def _check_signed(state: TraState) -> tuple[bytes, tuple[int, str] | None]:
    try:
        serial = base64.b64decode(request.headers.get("Cert-Serial", ""), validate=True)
    except ValueError:
        return b"", (6, "Cert-Serial is not base64")
    if base64.b64encode(serial).decode() != cert_serial_header(state.certificate):
        return b"", (6, "Invalid Serial or Serial not Registered to Web API/TIN")
    try:
        payload, signature = open_envelope(request.get_data())
        ET.fromstring(payload)  # noqa: S314  # parsed only after the signature shape
    except (ValueError, ET.ParseError):
        return b"", (1, "Invalid Signature: malformed envelope")
    if not verify(payload, signature, state.certificate.public_key()):  # type: ignore[arg-type]
        return b"", (1, "Invalid Signature")
    return payload, None


def _accept_receipt(state: TraState, payload: bytes) -> Response:
    rct = ET.fromstring(payload)  # noqa: S314  # signature verified
    text = {child.tag: (child.text or "") for child in rct}
    gc = int(text.get("GC") or 0)

    def ack(code: int, msg: str) -> Response:
        return _xml_ack("RCTACK", code, msg, RCTNUM=text.get("RCTNUM", ""))

    if not _TIN.fullmatch(text.get("TIN", "")) or text["TIN"] != state.tin:
        return ack(3, "Invalid TIN")
    if text.get("RCTVNUM") in state.seen_rctvnums:
        return ack(5, "Duplicate RCTVNUM")
    day = text.get("DATE", "")
    problems = [
        (gc != state.last_gc + 1, f"GC must be {state.last_gc + 1}"),
        (text.get("RCTNUM") != str(gc), "RCTNUM must equal GC"),
        (text.get("ZNUM") != day.replace("-", ""), "ZNUM must be DATE as YYYYMMDD"),
        (text.get("RCTVNUM") != f"{state.receipt_code}{gc}", "RCTVNUM must be RECEIPTCODE+GC"),
        (int(text.get("DC") or 0) != _next_dc(state, day), f"DC must be {_next_dc(state, day)}"),
    ]
    broken = [message for failed, message in problems if failed]
    if broken:
        return ack(5, "; ".join(broken))
    state.last_gc, state.last_dc, state.last_day = gc, int(text["DC"]), day
    state.seen_rctvnums.add(text["RCTVNUM"])
    state.accepted.append(payload)
    day_total = state.day_totals.setdefault(text["ZNUM"], [0, 0])
    day_total[0] += 1
    day_total[1] += _cents(rct.findtext("TOTALS/TOTALTAXINCL", "0"))
    return ack(0, "Success")


def _next_dc(state: TraState, day: str) -> int:
    return state.last_dc + 1 if day == state.last_day else 1


def _accept_zreport(state: TraState, payload: bytes) -> Response:
    z = ET.fromstring(payload)  # noqa: S314  # signature verified
    znumber = z.findtext("ZNUMBER", "")

    def ack(code: int, msg: str) -> Response:
        return _xml_ack("ZACK", code, msg, ZNUMBER=znumber)

    if not _TIN.fullmatch(z.findtext("TIN", "")) or z.findtext("TIN") != state.tin:
        return ack(3, "Invalid TIN")
    if z.findtext("EFDSERIAL") != state.cert_key:
        return ack(6, "Invalid Serial or Serial not Registered to Web API/TIN")
    day, issued = _day(znumber, "%Y%m%d"), _day(z.findtext("DATE", ""), "%Y-%m-%d")
    if day is None or issued is None:
        return ack(5, "ZNUMBER must be YYYYMMDD and DATE YYYY-MM-DD")
    if day > issued:
        return ack(5, "ZNUMBER must be a day that has begun: not after DATE")
    if znumber in state.zreports:
        return ack(5, f"Z report {znumber} already received")
    seen = state.day_totals.get(znumber)
    if seen is not None:
        tickets = int(z.findtext("TOTALS/TICKETSFISCAL") or -1)
        daily = _cents(z.findtext("TOTALS/DAILYTOTALAMOUNT", "-1"))
        if (tickets, daily) != tuple(seen):
            return ack(5, f"totals differ from the receipts of {znumber}: {seen[0]} tickets, "
                          f"{seen[1] / 100:.2f}")  # fmt: skip
    state.zreports[znumber] = payload
    state.accepted.append(payload)
    return ack(0, "Success")


def _day(text: str, layout: str) -> date | None:
    try:
        return datetime.strptime(text, layout).replace(tzinfo=UTC).date()
    except ValueError:
        return None


def _cents(text: str) -> int:
    try:
        return int((Decimal(text) * 100).to_integral_value())
    except ArithmeticError:
        return -1


def _registration(state: TraState) -> str:
    fields = {
        "ACKCODE": "0", "ACKMSG": "Registration Successful", "REGID": "TZ0100000001",
        "SERIAL": state.cert_key, "UIN": "09VFDWEBAPI-SIM", "TIN": state.tin,
        "VRN": "40012345K", "RECEIPTCODE": state.receipt_code, "ROUTINGKEY": "vfdrct",
        "GC": str(state.last_gc + 1), "TAXOFFICE": "Simulated Tax Office",
        "USERNAME": state.username, "PASSWORD": state.password, "TOKENPATH": "vfdtoken",
    }  # fmt: skip
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    codes = "<TAXCODES><CODEA>18</CODEA><CODEB>0</CODEB><CODEC>0</CODEC><CODED>0</CODED></TAXCODES>"
    return (
        f"<EFDMS><EFDMSRESP>{body}{codes}</EFDMSRESP><EFDMSSIGNATURE>SIM</EFDMSSIGNATURE></EFDMS>"
    )


def _xml_ack(tag: str, code: int, message: str, **extra: str) -> Response:
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    now = time.strftime("<DATE>%Y-%m-%d</DATE><TIME>%H:%M:%S</TIME>")
    body = f"<{tag}>{fields}{now}<ACKCODE>{code}</ACKCODE><ACKMSG>{message}</ACKMSG></{tag}>"
    return _xml(f"<EFDMS>{body}<EFDMSSIGNATURE>SIM</EFDMSSIGNATURE></EFDMS>")


def _xml(body: str) -> Response:
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?>{body}', 200, mimetype="application/xml"
    )


def _token_refusal(code: int, message: str) -> Response:
    response = jsonify(error="invalid_grant", error_description=message)
    response.status_code = 400
    response.headers.update({"ACKCODE": str(code), "ACKMSG": message})
    return response


@contextmanager
def serve(state: TraState) -> Iterator[str]:
    """Run the simulator on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, create_app(state), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
