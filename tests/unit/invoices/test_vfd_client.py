"""The client against a fake session: no network, just what it sends and how it reads."""

import base64
import json

import pytest
import requests

from invoices.vfd.client import Credentials, Endpoints, VfdClient
from invoices.vfd.errors import (
    MalformedResponse,
    RequestRejected,
    TokenRefused,
    TraUnreachable,
)
from invoices.vfd.signing import open_envelope, verify

ACK0 = (
    b"<EFDMS><RCTACK><RCTNUM>1</RCTNUM><DATE>2025-01-31</DATE><TIME>10:00:00</TIME>"
    b"<ACKCODE>0</ACKCODE><ACKMSG>Success</ACKMSG></RCTACK><EFDMSSIGNATURE>x</EFDMSSIGNATURE>"
    b"</EFDMS>"
)


def reply(status=200, body=b"", headers=None):
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


def token_reply(token="tok-1", expires_in=3600, code="0"):
    body = json.dumps({"access_token": token, "token_type": "bearer", "expires_in": expires_in})
    return reply(200, body.encode(), {"ACKCODE": code, "ACKMSG": "Success"})


class FakeSession:
    def __init__(self, *replies):
        self.replies = list(replies)
        self.calls = []

    def post(self, url, timeout, data=None, headers=None):
        self.calls.append({"url": url, "data": data, "headers": headers or {}})
        outcome = self.replies.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def client(session, signing_key, clock=None):
    return VfdClient(
        Endpoints.test("http://tra.test"),
        signing_key,
        credentials=Credentials("user", "secret"),
        session=session,
        clock=clock or Clock(),
    )


def test_receipt_post_sends_the_listed_headers(signing_key):
    session = FakeSession(token_reply(), reply(200, ACK0))
    ack = client(session, signing_key).post_receipt(b"<signed/>")
    assert ack.accepted
    token_call, receipt_call = session.calls
    assert token_call["url"] == "http://tra.test/efdmsRctApi/vfdtoken"
    assert token_call["data"] == {"username": "user", "password": "secret",
                                  "grant_type": "password"}  # fmt: skip
    assert receipt_call["url"] == "http://tra.test/efdmsRctApi/api/efdmsRctInfo"
    assert receipt_call["data"] == b"<signed/>"
    headers = receipt_call["headers"]
    assert headers["Content-Type"] == "application/xml"
    assert headers["Routing-Key"] == "vfdrct"
    assert headers["Authorization"] == "bearer tok-1"
    assert base64.b64decode(headers["Cert-Serial"]) == b"69 c5 af 01"


def test_token_is_cached_until_it_expires(signing_key):
    clock = Clock()
    session = FakeSession(token_reply("t1", 3600), reply(200, ACK0), reply(200, ACK0),
                          token_reply("t2", 3600), reply(200, ACK0))  # fmt: skip
    vfd = client(session, signing_key, clock)
    vfd.post_receipt(b"a")
    clock.now += 3000
    vfd.post_receipt(b"b")
    clock.now += 600  # past expiry minus the safety margin
    vfd.post_receipt(b"c")
    tokens = [c["headers"].get("Authorization") for c in session.calls if c["headers"]]
    assert tokens == ["bearer t1", "bearer t1", "bearer t2"]


def test_401_gets_a_fresh_token_and_retries_once(signing_key):
    session = FakeSession(token_reply("old"), reply(401, b"expired"), token_reply("new"),
                          reply(200, ACK0))  # fmt: skip
    assert client(session, signing_key).post_receipt(b"x").accepted
    assert session.calls[-1]["headers"]["Authorization"] == "bearer new"
    assert session.calls[-1]["data"] == session.calls[1]["data"]


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectTimeout("connect timeout"),
        requests.ReadTimeout("read timeout"),
        requests.ConnectionError("refused"),
        reply(500, b"<Error><Message>Internal</Message></Error>"),
        reply(502, b"bad gateway"),
        reply(503, b""),
    ],
)
def test_unreachable_tra_never_looks_like_success(signing_key, failure):
    session = FakeSession(token_reply(), failure)
    with pytest.raises(TraUnreachable):
        client(session, signing_key).post_receipt(b"x")


def test_token_endpoint_down_is_unreachable(signing_key):
    with pytest.raises(TraUnreachable):
        client(FakeSession(requests.ReadTimeout("slow")), signing_key).token()
    with pytest.raises(TraUnreachable):
        client(FakeSession(reply(500, b"")), signing_key).token()


def test_token_refusal_carries_the_ack_code(signing_key):
    refused = reply(400, b'{"error": "invalid_grant"}', {"ACKCODE": "8", "ACKMSG": "Blocked"})
    with pytest.raises(TokenRefused) as exc:
        client(FakeSession(refused), signing_key).token()
    assert exc.value.ack_code == 8
    with pytest.raises(TokenRefused):
        client(FakeSession(token_reply(code="18")), signing_key).token()


def test_other_http_errors_and_garbage(signing_key):
    with pytest.raises(RequestRejected):
        client(FakeSession(token_reply(), reply(404, b"no")), signing_key).post_receipt(b"x")
    with pytest.raises(MalformedResponse):
        client(FakeSession(token_reply(), reply(200, b"")), signing_key).post_receipt(b"x")
    with pytest.raises(MalformedResponse):
        client(FakeSession(token_reply(), reply(200, b"<html/>")), signing_key).post_receipt(b"x")


def test_failed_ack_is_returned_not_raised(signing_key):
    body = ACK0.replace(b"<ACKCODE>0</ACKCODE>", b"<ACKCODE>1</ACKCODE>")
    ack = client(FakeSession(token_reply(), reply(200, body)), signing_key).post_receipt(b"x")
    assert not ack.accepted and ack.code == 1


def test_registration_signs_regdata_and_sends_client_header(signing_key):
    body = b"<EFDMS><EFDMSRESP><ACKCODE>0</ACKCODE><ACKMSG>ok</ACKMSG></EFDMSRESP></EFDMS>"
    session = FakeSession(reply(200, body))
    reg = client(session, signing_key).register("100-000-001", "10TZ100000")
    assert reg.ack.accepted
    call = session.calls[0]
    assert call["url"] == "http://tra.test/efdmsRctApi/api/vfdRegReq"
    assert call["headers"]["Client"] == "webapi"
    assert "Authorization" not in call["headers"]
    payload, signature = open_envelope(call["data"])
    assert payload == b"<REGDATA><TIN>100000001</TIN><CERTKEY>10TZ100000</CERTKEY></REGDATA>"
    assert verify(payload, signature, signing_key.certificate.public_key())


def test_zreport_uses_its_routing_key(signing_key):
    zack = (b"<EFDMS><ZACK><ZNUMBER>20250131</ZNUMBER><ACKCODE>0</ACKCODE>"
            b"<ACKMSG>ok</ACKMSG></ZACK></EFDMS>")  # fmt: skip
    session = FakeSession(token_reply(), reply(200, zack))
    assert client(session, signing_key).post_zreport(b"z").accepted
    assert session.calls[1]["headers"]["Routing-Key"] == "vfdzreport"
    assert session.calls[1]["url"].endswith("/efdmsRctApi/api/efdmszreport")


def test_production_endpoints():
    prod = Endpoints.production()
    assert prod.receipt == "https://vfd.tra.go.tz/api/efdmsRctInfo"
    assert prod.token == "https://vfd.tra.go.tz/vfdtoken"
