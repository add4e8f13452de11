# ruff: noqa: F401, F811 (module-scoped fixtures imported by name)
"""Card top-ups end to end: `billing serve`, a real worker, and the Stripe fake posting
signed webhooks to /v1/callbacks/stripe (issue 14)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text

from billing.cards.models import CardCharge, CardChargeback
from billing.disputes.models import Dispute
from billing.ledger.models import Account, Transaction
from billing.topups.models import CallbackDelivery, InboxStatus, Refund, Topup, TopupStatus
from tests.e2e.cards_services import (  # the fixtures
    card_env,
    card_url,
    card_worker,
    fake,
    logs,
    service,
)
from tests.polling import eventually
from tests.stripe_fake import (
    CVC,
    DECLINED,
    EXP_MONTH,
    EXP_YEAR,
    THREE_D_SECURE,
    VISA,
    StripeFake,
    signed,
)

pytestmark = pytest.mark.e2e
AMOUNT = 5_000_00  # TZS 5,000.00; Stripe takes TZS in hundredths too: amount 500000


def card_topup(url: str, tenant, amount: int = AMOUNT, currency: str = "TZS") -> dict:
    response = requests.post(
        f"{url}/v1/topups",
        json={"amount": amount, "currency": currency, "provider": "card"},
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()


def topup_row(sessions, topup_id: str) -> Topup:
    with sessions() as session:
        return session.get(Topup, topup_id)


def reaches(sessions, topup_id: str, status: TopupStatus, timeout_s: float = 30) -> bool:
    return bool(
        eventually(lambda: topup_row(sessions, topup_id).status is status, timeout_s=timeout_s)
    )


def balance(sessions, tenant_id: str, kind: str = "wallet", currency: str = "TZS") -> int:
    with sessions() as session:
        value = session.execute(
            select(Account.balance_minor).where(
                Account.tenant_id == tenant_id, Account.kind == kind, Account.currency == currency
            )
        ).scalar()
        return int(value or 0)


def credits(sessions, topup_id: str) -> int:
    with sessions() as session:
        return session.execute(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.idempotency_key == f"topup:{topup_id}")
        ).scalar_one()


def paid(service, fake, sessions, tenant, amount: int = AMOUNT) -> dict:
    created = card_topup(service, tenant, amount)
    assert fake.pay(created["client_secret"])["status"] == "succeeded"
    assert reaches(sessions, created["id"], TopupStatus.SUCCEEDED)
    return created


def test_a_card_top_up_is_credited_once_with_stripes_fee_booked(
    service, fake, sessions, make_tenant
):
    tenant = make_tenant()
    created = card_topup(service, tenant)
    assert created["status"] == "pending" and created["provider"] == "card"
    assert created["client_secret"].startswith(created["provider_ref"] + "_secret_")
    intent = fake.intent(created["provider_ref"])
    assert intent["amount"] == 500000 and intent["currency"] == "tzs"  # two-decimal at Stripe
    assert intent["metadata"]["topup_id"] == created["id"]
    assert intent["metadata"]["tenant_id"] == tenant.tenant_id
    fake.pay(created["client_secret"])
    assert reaches(sessions, created["id"], TopupStatus.SUCCEEDED)
    assert balance(sessions, tenant.tenant_id) == AMOUNT
    fee = AMOUNT * 29 // 1000 + 30  # the fake's card fee
    charge = eventually(lambda: _charge(sessions, created["id"]), timeout_s=10)
    assert (charge.gross_minor, charge.fee_minor, charge.net_minor) == (AMOUNT, fee, AMOUNT - fee)
    assert balance(sessions, tenant.tenant_id, "fees:card") == -fee
    assert balance(sessions, tenant.tenant_id, "clearing:card") == -(AMOUNT - fee)
    assert credits(sessions, created["id"]) == 1
    again = requests.get(f"{service}/v1/topups/{created['id']}", headers=tenant.headers, timeout=10)
    assert "client_secret" not in again.json()  # shown once, in the answer to POST


def _charge(sessions, topup_id: str):
    with sessions() as session:
        return session.execute(select(CardCharge).where(CardCharge.topup_id == topup_id)).scalar()


def test_a_declined_card_fails_the_top_up(service, fake, sessions, make_tenant):
    tenant = make_tenant()
    created = card_topup(service, tenant)
    answer = fake.pay(created["client_secret"], DECLINED)
    assert answer["error"]["code"] == "card_declined"
    assert reaches(sessions, created["id"], TopupStatus.FAILED)
    assert topup_row(sessions, created["id"]).failure_code == "card_declined"
    assert balance(sessions, tenant.tenant_id) == 0


def test_3d_secure_is_pending_until_authenticated_then_credited(
    service, fake, sessions, make_tenant
):
    tenant = make_tenant()
    created = card_topup(service, tenant)
    assert fake.pay(created["client_secret"], THREE_D_SECURE)["status"] == "requires_action"
    time.sleep(2)  # whatever the fake says meanwhile, nothing moves
    assert topup_row(sessions, created["id"]).status is TopupStatus.PENDING
    assert fake.authenticate(created["client_secret"])["status"] == "succeeded"
    assert reaches(sessions, created["id"], TopupStatus.SUCCEEDED)
    assert balance(sessions, tenant.tenant_id) == AMOUNT


def _post(service: str, body: dict | bytes, timestamp: int | None = None, **kw):
    payload, headers = signed(body, timestamp, **kw)
    return requests.post(
        f"{service}/v1/callbacks/stripe", data=payload, headers=headers, timeout=10
    )


def _event(kind: str, subject: dict) -> dict:
    return {
        "id": f"evt_test_{kind.replace('.', '_')}_{subject['id']}_{time.time_ns()}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": subject},
    }


def test_duplicate_and_out_of_order_events_move_money_once(service, fake, sessions, make_tenant):
    """A stale payment_failed, a refund before the success, and the success five times:
    the objects re-read from Stripe decide, each ledger move happens once."""
    tenant = make_tenant()
    created = card_topup(service, tenant)
    fake.pay(created["client_secret"])
    intent = fake.intent(created["provider_ref"])
    charge_id = (
        intent["latest_charge"]["id"]
        if isinstance(intent["latest_charge"], dict)
        else intent["latest_charge"]
    )
    fake.refund_at_stripe(charge_id, 1_000_00)
    charge = {"id": charge_id, "object": "charge", "payment_intent": intent["id"]}
    stale = {
        **intent,
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined"},
    }
    assert _post(service, _event("charge.refunded", charge)).status_code == 200
    assert _post(service, _event("payment_intent.payment_failed", stale)).status_code == 200
    success = _event("payment_intent.succeeded", intent)
    for _ in range(5):
        assert _post(service, success).status_code == 200
    assert reaches(sessions, created["id"], TopupStatus.SUCCEEDED)
    assert eventually(
        lambda: balance(sessions, tenant.tenant_id) == AMOUNT - 1_000_00, timeout_s=30
    )
    time.sleep(3)  # the fake's own deliveries of the same facts come too
    assert credits(sessions, created["id"]) == 1
    assert balance(sessions, tenant.tenant_id) == AMOUNT - 1_000_00
    with sessions() as session:
        refunds = (
            session.execute(select(Refund).where(Refund.topup_id == created["id"])).scalars().all()
        )
        assert [(r.amount_minor, r.status.value) for r in refunds] == [(1_000_00, "succeeded")]
        deliveries = session.execute(
            select(CallbackDelivery.deliveries).where(
                CallbackDelivery.dedupe_key.like(f"stripe:{success['id']}#%")
            )
        ).scalar_one()
        assert deliveries == 5


def test_a_forged_signature_and_a_replay_past_tolerance_are_refused(
    service, fake, sessions, make_tenant
):
    tenant = make_tenant()
    created = card_topup(service, tenant)
    fake.pay(created["client_secret"], THREE_D_SECURE)  # pending at Stripe
    forged_intent = {**fake.intent(created["provider_ref"]), "status": "succeeded"}
    forged = _event("payment_intent.succeeded", forged_intent)
    assert _post(service, forged, secret="whsec_someone_else").status_code == 400
    stale = _post(
        service, _event("payment_intent.succeeded", forged_intent), timestamp=int(time.time()) - 301
    )
    assert stale.status_code == 400
    unsigned = requests.post(f"{service}/v1/callbacks/stripe", json=forged, timeout=10)
    assert unsigned.status_code == 400
    with sessions() as session:
        rows = session.execute(
            select(CallbackDelivery.status, CallbackDelivery.error)
            .where(
                CallbackDelivery.provider == "stripe",
                CallbackDelivery.status == InboxStatus.REJECTED,
            )
            .order_by(CallbackDelivery.id.desc())
            .limit(3)
        ).all()
    assert len(rows) == 3 and all("signature" in row.error.lower() for row in rows)
    time.sleep(1)
    assert topup_row(sessions, created["id"]).status is TopupStatus.PENDING
    assert balance(sessions, tenant.tenant_id) == 0


def test_a_signed_event_naming_another_top_up_moves_nothing(service, fake, sessions, make_tenant):
    """Signed, but the PaymentIntent is not the one we stored for the top-up it names."""
    victim, attacker = make_tenant(), make_tenant()
    theirs = card_topup(service, victim)
    ours = card_topup(service, attacker)
    fake.pay(ours["client_secret"])
    assert reaches(sessions, ours["id"], TopupStatus.SUCCEEDED)
    intent = fake.intent(ours["provider_ref"])
    crafted = {**intent, "metadata": {**intent["metadata"], "topup_id": theirs["id"]}}
    assert _post(service, _event("payment_intent.succeeded", crafted)).status_code == 200
    time.sleep(2)
    assert topup_row(sessions, theirs["id"]).status is TopupStatus.PENDING
    assert balance(sessions, victim.tenant_id) == 0
    assert credits(sessions, ours["id"]) == 1


def test_staff_refund_partly_then_fully_through_stripe(service, fake, sessions, make_tenant, admin):
    tenant = make_tenant()
    created = paid(service, fake, sessions, tenant)
    url = f"{service}/v1/topups/{created['id']}/refund"
    too_much = requests.post(
        url, json={"amount": AMOUNT + 1, "reason": "x"}, headers=admin.headers, timeout=10
    )
    assert too_much.status_code == 422
    by_tenant = requests.post(
        url, json={"amount": 100, "reason": "x"}, headers=tenant.headers, timeout=10
    )
    assert by_tenant.status_code in (403, 404)
    first = requests.post(
        url, json={"amount": 1_234_56, "reason": "overpaid"}, headers=admin.headers, timeout=10
    )
    assert first.status_code == 202, first.text
    assert balance(sessions, tenant.tenant_id) == AMOUNT - 1_234_56
    assert eventually(
        lambda: _refund_statuses(sessions, created["id"]) == ["succeeded"], timeout_s=30
    )
    rest = requests.post(
        url, json={"reason": "closing the account"}, headers=admin.headers, timeout=10
    )
    assert rest.status_code == 202, rest.text
    assert reaches(sessions, created["id"], TopupStatus.REFUNDED)
    again = requests.post(url, json={"reason": "twice"}, headers=admin.headers, timeout=10)
    assert again.status_code == 409
    time.sleep(2)  # charge.refunded for both comes back: nothing is taken twice
    assert balance(sessions, tenant.tenant_id) == 0
    stripe_refunds = requests.get(
        f"{fake.url}/v1/refunds", params={"payment_intent": created["provider_ref"]},
        auth=("sk_test_malipo", ""), timeout=10,
    ).json()["data"]  # fmt: skip
    assert sorted(r["amount"] for r in stripe_refunds) == [1_234_56, AMOUNT - 1_234_56]
    fee = AMOUNT * 29 // 1000 + 30
    assert balance(sessions, tenant.tenant_id, "fees:card") == -fee  # Stripe keeps its fee


def _refund_statuses(sessions, topup_id: str) -> list[str]:
    with sessions() as session:
        rows = session.execute(
            select(Refund.status).where(Refund.topup_id == topup_id).order_by(Refund.created_at)
        )
        return [row.status.value for row in rows]


def _chargeback(sessions, dispute_id: str):
    with sessions() as session:
        return session.get(CardChargeback, dispute_id)


def test_a_chargeback_is_held_then_released_when_won(service, fake, sessions, make_tenant):
    tenant = make_tenant()
    created = paid(service, fake, sessions, tenant)
    charge = _charge_id(fake, created)
    dispute = fake.dispute(charge, 2_000_00)
    held = eventually(lambda: _chargeback(sessions, dispute["id"]), timeout_s=30)
    assert held.status == "open" and held.held_minor == 2_000_00
    assert balance(sessions, tenant.tenant_id) == AMOUNT - 2_000_00
    assert balance(sessions, tenant.tenant_id, "hold:chargeback") == 2_000_00
    # The admins see it as a dispute on the top-up, opened once by the card network.
    with sessions() as session:
        opened = session.get(Dispute, held.dispute_id)
    assert (opened.source, opened.source_ref, opened.subject_id) == (
        "chargeback",
        dispute["id"],
        created["id"],
    )
    fake.close_dispute(dispute["id"], "won")
    assert eventually(lambda: _chargeback(sessions, dispute["id"]).status == "won", timeout_s=30)
    assert balance(sessions, tenant.tenant_id) == AMOUNT
    assert balance(sessions, tenant.tenant_id, "hold:chargeback") == 0


def test_a_lost_chargeback_takes_the_amount_and_the_fee(service, fake, sessions, make_tenant):
    tenant = make_tenant()
    created = paid(service, fake, sessions, tenant)
    dispute = fake.dispute(_charge_id(fake, created))  # the whole charge
    assert eventually(lambda: _chargeback(sessions, dispute["id"]), timeout_s=30)
    assert balance(sessions, tenant.tenant_id) == 0
    fake.close_dispute(dispute["id"], "lost")
    lost = eventually(
        lambda: (row := _chargeback(sessions, dispute["id"])) and row.status == "lost" and row,
        timeout_s=30,
    )
    assert lost.fee_minor == 1500 and lost.owed_minor == 1500  # the wallet was empty
    assert balance(sessions, tenant.tenant_id) == 0
    assert balance(sessions, tenant.tenant_id, "receivable") == -1500
    assert balance(sessions, tenant.tenant_id, "hold:chargeback") == 0


def _charge_id(fake, created: dict) -> str:
    charge = fake.intent(created["provider_ref"])["latest_charge"]
    return charge["id"] if isinstance(charge, dict) else charge


NEEDLES = [VISA, DECLINED, THREE_D_SECURE, f'"cvc": "{CVC}"', f'"cvc":"{CVC}"',
           f"{EXP_MONTH}/{EXP_YEAR}", f"{EXP_MONTH}/{EXP_YEAR[2:]}"]  # fmt: skip


def card_data_in(session, log_paths: list[Path]) -> list[tuple[str, str, str]]:
    """Where any card number, CVC or full expiry occurs: every text, JSON and binary
    column of every table, and the given log files."""
    found = []
    columns = session.execute(text(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public'"
        " AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')"
    )).all()  # fmt: skip
    for table, column, kind in columns:
        for needle in NEEDLES:
            if kind == "bytea":
                where = f"position(convert_to(:needle, 'UTF8') in \"{column}\") > 0"
            else:
                where = f'strpos("{column}"::text, :needle) > 0'
            hits = session.execute(
                text(f'SELECT count(*) FROM "{table}" WHERE {where}'), {"needle": needle}
            ).scalar_one()
            if hits:
                found.append((table, column, needle))
    for log in log_paths:
        content = log.read_text(errors="replace")
        found += [(log.name, "", needle) for needle in NEEDLES if needle in content]
    return found


def test_no_card_number_cvc_or_expiry_is_kept_anywhere(service, fake, sessions, make_tenant, logs):
    tenant = make_tenant()
    paid(service, fake, sessions, tenant)
    created = card_topup(service, tenant)
    fake.pay(created["client_secret"], DECLINED)
    assert reaches(sessions, created["id"], TopupStatus.FAILED)
    three_ds = card_topup(service, tenant)
    fake.pay(three_ds["client_secret"], THREE_D_SECURE)
    fake.authenticate(three_ds["client_secret"])
    assert reaches(sessions, three_ds["id"], TopupStatus.SUCCEEDED)
    log_paths = [logs / "serve.log", logs / "worker.log"]
    with sessions() as session:
        assert card_data_in(session, log_paths) == []
        # The search can fail: a card number planted (and rolled back) is found.
        session.execute(
            text("UPDATE tenants SET name = :planted WHERE id = :id"),
            {"planted": f"card {VISA}", "id": tenant.tenant_id},
        )
        assert ("tenants", "name", VISA) in card_data_in(session, log_paths)
        session.rollback()
