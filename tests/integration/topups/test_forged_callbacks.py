"""A property over every provider: a callback built from another top-up's identifiers,
from our reference with a foreign conversation id, or with an altered amount credits
nothing and re-identifies nothing (issue 13).

Two kinds of sender are tried. An outsider cannot sign and does not send from an
operator's networks: whatever it writes, nothing moves. A proven sender (the body
signed with the sandbox's keys, or posted from the allowed network) stands for the
provider's own system: its word about its own payment is applied, except where it
contradicts the top-up, as an amount other than the one asked does.

Each example is a fresh pending top-up whose initiate stored what its provider
answers; the callback is verified and stored as the endpoint does, then reconciled
by the job itself (a status query, where one is made, reaches the simulator).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from billing.core.ids import new_id
from billing.ledger.models import Transaction
from billing.topups import inbox
from billing.topups.inbox_writer import InboxWriter
from billing.topups.jobs import NotConfirmedYet, reconcile
from billing.topups.models import CallbackDelivery, Initiation, Topup, TopupStatus
from billing.topups.service import reference_for
from providers.airtelmoney.wire import callback_hash
from providers.callback_path import PATH_DIGEST_HEADER, path_digest
from providers.sandbox import sandbox_settings, selcom_signing
from tests.polling import eventually

pytestmark = pytest.mark.integration

OUTSIDE, ALLOWED = "203.0.113.9", "127.0.0.1"
PAYERS = {
    "mpesa": "255754123999",
    "tigopesa": "255714123999",
    "airtelmoney": "255784123999",
    "halopesa": "255621123999",
}
AMOUNTED = ("tigopesa", "halopesa")  # their callbacks carry the amount paid
PATHS = {
    "mpesa": "mpesa",
    "tigopesa": "tigopesa",
    "airtelmoney": "airtelmoney",
    "halopesa": "selcom",
}


@dataclasses.dataclass(frozen=True)
class Ids:
    reference: str
    provider_ref: str | None
    provider_txn_id: str | None


@pytest.fixture
def paid(live, make_tenant) -> dict[str, Ids]:
    """One genuinely paid top-up per provider: the identifiers an attacker would borrow."""
    tenant = make_tenant()
    found = {}
    for provider, msisdn in PAYERS.items():
        created = requests.post(
            f"{live.url}/v1/topups",
            json={"amount": 3_000_00, "currency": "TZS", "msisdn": msisdn, "provider": provider},
            headers=tenant.headers,
            timeout=30,
        ).json()

        def done(topup_id=created["id"]):
            body = requests.get(
                f"{live.url}/v1/topups/{topup_id}", headers=tenant.headers, timeout=10
            ).json()
            return body if body["status"] == "succeeded" else None

        topup = eventually(done, timeout_s=20)
        assert topup, provider
        found[provider] = Ids(topup["reference"], topup["provider_ref"], topup["provider_txn_id"])
    return found


def unpaid(live, tenant_id: str, provider: str) -> Topup:
    """A pending top-up as its initiate left it: what each operator's answer stores."""
    topup_id = new_id("top")
    reference = reference_for(topup_id)
    stored_ref = {
        "mpesa": "CONV" + secrets.token_hex(8),
        "tigopesa": sandbox_settings("tigopesa", "http://x")["biller_code"] + reference,
        "airtelmoney": reference,
        "halopesa": reference,
    }[provider]
    topup = Topup(
        id=topup_id,
        tenant_id=tenant_id,
        reference=reference,
        provider=provider,
        msisdn=PAYERS[provider],
        amount_minor=5_000_00,
        currency="TZS",
        status=TopupStatus.PENDING,
        initiation=Initiation.SENT,
        provider_ref=stored_ref,
        checks=0,
    )
    with live.runtime.sessions.begin() as session:
        session.add(topup)
    return topup


def forged(provider: str, target: Topup, conv: str, txn: str, shillings: int):
    """The body (and headers) a sender would post, in the provider's own format."""
    if provider == "mpesa":
        return {
            "input_OriginalConversationID": conv,
            "input_TransactionID": txn,
            "input_ResultCode": "INS-0",
            "input_ResultDesc": "Request processed successfully",
            "input_ThirdPartyConversationID": target.reference,
        }, {}
    if provider == "tigopesa":  # posted to the secret path, as the route passes it on
        token = sandbox_settings("tigopesa", "http://x")["callback_token"]
        return {
            "Status": True,
            "Description": "Success",
            "MFSTransactionID": txn,
            "ReferenceID": target.provider_ref,
            "Amount": str(shillings),
        }, {PATH_DIGEST_HEADER: path_digest(token)}
    if provider == "airtelmoney":
        transaction = {
            "id": target.reference,
            "message": "Paid",
            "status_code": "TS",
            "airtel_money_id": txn,
        }
        key = sandbox_settings("airtelmoney", "http://x")["callback_hash_key"]
        return {"transaction": transaction, "hash": callback_hash(key, transaction)}, {}
    body = {
        "transid": target.reference,
        "order_id": target.reference,
        "reference": txn,
        "result": "SUCCESS",
        "resultcode": "000",
        "payment_status": "COMPLETED",
        "amount": str(shillings),
    }
    keys = sandbox_settings("halopesa", "http://x")
    return body, selcom_signing.sign(
        body, keys["api_key"], keys["api_secret"], selcom_signing.local_now()
    )


def unproven(provider: str, body: dict, headers: dict) -> tuple[dict, dict]:
    """What an outsider can send: no valid signature or hash, whatever it copies."""
    if provider == "airtelmoney":
        return {**body, "hash": "bm90IGEgaGFzaA=="}, headers
    if provider == "halopesa":
        return body, {**headers, "Digest": "bm90IGEgZGlnZXN0"}
    return body, headers


@settings(
    max_examples=24,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    provider=st.sampled_from(sorted(PAYERS)),
    attack=st.sampled_from(["borrowed_ids", "foreign_conversation", "altered_amount"]),
    proven=st.booleans(),
    delta=st.integers(min_value=1, max_value=1_000_000),
)
def test_a_forged_callback_credits_nothing(live, tenant, paid, provider, attack, proven, delta):
    # A provider's own proven word about its own payment is the truth, except where it
    # contradicts the top-up: an amount other than asked (those that report one).
    assume(not proven or (attack == "altered_amount" and provider in AMOUNTED))
    target = unpaid(live, tenant.tenant_id, provider)
    other = paid[provider]
    asked = target.amount_minor // 100
    conv, txn, shillings = target.provider_ref, "R" + secrets.token_hex(5), asked
    if attack == "borrowed_ids":
        conv, txn = other.provider_ref or conv, other.provider_txn_id or txn
    elif attack == "foreign_conversation":
        conv = other.provider_ref or "CONV" + secrets.token_hex(8)
    else:
        shillings = asked + delta
    body, headers = forged(provider, target, conv, txn, shillings)
    if not proven:
        body, headers = unproven(provider, body, headers)
    raw = json.dumps(body).encode()

    held_back = InboxWriter.for_engine(live.runtime.engine, written=lambda _ids: None)
    runtime = dataclasses.replace(live.runtime, inbox_writer=held_back)
    try:
        inbox.receive(runtime, PATHS[provider], headers, raw, ALLOWED if proven else OUTSIDE)
    finally:
        held_back.close()
    with live.runtime.sessions() as session:
        row = session.scalars(select(CallbackDelivery).where(CallbackDelivery.body == raw)).one()
    assert row is not None  # kept, whatever it is: evidence
    # NotConfirmedYet: the operator does not know it paid; nothing is believed meanwhile.
    with live.app.app_context(), contextlib.suppress(NotConfirmedYet):
        reconcile(row.id)

    with live.runtime.sessions() as session:
        credited = session.execute(
            select(func.count()).select_from(Transaction).where(Transaction.reference == target.id)
        ).scalar_one()
        after = session.get(Topup, target.id)
    assert credited == 0
    assert after.status is not TopupStatus.SUCCEEDED
    assert (after.provider_ref, after.provider_txn_id) == (target.provider_ref, None)


def test_a_callers_credentials_are_kept_as_evidence_by_digest_only(live, tenant):
    """Selcom proves a webhook with our API key in `Authorization`: stored, it is a digest."""
    target = unpaid(live, tenant.tenant_id, "halopesa")
    body, headers = forged("halopesa", target, target.reference, "R1", 5_000)
    raw = json.dumps(body).encode()
    held_back = InboxWriter.for_engine(live.runtime.engine, written=lambda _ids: None)
    try:
        ack = inbox.receive(
            dataclasses.replace(live.runtime, inbox_writer=held_back),
            "selcom",
            headers,
            raw,
            ALLOWED,
        )
    finally:
        held_back.close()
    assert ack.status_code == 200  # verified with the real header…
    with live.runtime.sessions() as session:
        stored = session.scalars(
            select(CallbackDelivery.headers).where(CallbackDelivery.body == raw)
        ).one()
    assert stored["Authorization"].startswith("[redacted sha256:")  # …and kept without it
    assert headers["Authorization"] not in json.dumps(stored)
    assert stored["Digest"] == headers["Digest"]  # the proof itself stays
