"""Stripe payouts against the ledger: the Stripe fake pays out charges, a partial refund and
a lost chargeback with their fees; every line matches the ledger and the totals reconcile.
A planted ledger mismatch and a charge Stripe never paid out land in the review queue."""

from __future__ import annotations

import csv
import io
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from billing import create_app
from billing.cards.models import CardCharge
from billing.cards.webhooks import _apply, read_fresh
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.runtime import EXTENSION
from billing.settlement.payouts.jobs import request_payout_reconciliation
from billing.settlement.payouts.models import PayoutLine, StripePayout
from billing.topups.models import ReviewItem
from tests.stripe_fake import StripeFake

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    stripe_fake = StripeFake(_free_port(), tmp_path_factory.mktemp("payouts") / "stripe.log")
    yield stripe_fake
    stripe_fake.stop()


@pytest.fixture(scope="module")
def card_app(database_url, fake):
    return create_app(
        Settings(
            database_url=database_url,
            testing=True,
            secret_key="test",
            provider_settings={"card": fake.settings()},
        )
    )


@pytest.fixture(scope="module")
def card_runtime(card_app):
    return card_app.extensions[EXTENSION]


def _deliver(runtime, kind: str, object_id: str) -> None:
    """What the worker does with a verified webhook: the object re-read, then applied."""
    fresh = read_fresh(runtime.gateways.adapter("card"), {"type": kind, "object_id": object_id})
    with runtime.unit_of_work() as session:
        _apply(session, None, kind, fresh)


def _paid_top_up(card_app, card_runtime, fake, tenant, amount: int) -> tuple[dict, str]:
    created = (
        card_app.test_client()
        .post(
            "/v1/topups",
            json={"amount": amount, "currency": "TZS", "provider": "card"},
            headers=tenant.headers,
        )
        .get_json()
    )
    fake.pay(created["client_secret"])
    _deliver(card_runtime, "payment_intent.succeeded", created["provider_ref"])
    charge = fake.intent(created["provider_ref"])["latest_charge"]
    return created, charge["id"] if isinstance(charge, dict) else charge


def _reconcile(card_app, finance, since) -> list[dict]:
    answer = card_app.test_client().post(
        "/v1/stripe-payouts",
        json={"since": since.isoformat(), "until": (utcnow() + timedelta(hours=1)).isoformat()},
        headers=finance.headers,
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_payout_matches_the_ledger_line_by_line_then_a_planted_mismatch_is_caught(
    card_app, card_runtime, fake, make_tenant, finance, sessions
):
    since = utcnow() - timedelta(minutes=1)
    tenant = make_tenant()
    refunded, refunded_charge = _paid_top_up(card_app, card_runtime, fake, tenant, 120_000_00)
    disputed, disputed_charge = _paid_top_up(card_app, card_runtime, fake, tenant, 30_000_00)
    _, kept_charge = _paid_top_up(card_app, card_runtime, fake, tenant, 250_000_00)
    fake.refund_at_stripe(refunded_charge, 20_000_00)  # partly, in Stripe's dashboard
    _deliver(card_runtime, "charge.refunded", refunded_charge)
    dispute = fake.dispute(disputed_charge)
    _deliver(card_runtime, "charge.dispute.created", dispute["id"])
    fake.close_dispute(dispute["id"], "lost")
    _deliver(card_runtime, "charge.dispute.closed", dispute["id"])
    [stripe_payout] = fake._post("/_malipo/payouts", {})["data"]

    # Another test's payouts may fall in `since`: this test's are picked by their ids.
    [payout] = _mine(_reconcile(card_app, finance, since), [stripe_payout])
    assert payout["reimported"] is False
    detail = (
        card_app.test_client()
        .get(f"/v1/stripe-payouts/{payout['id']}", headers=finance.headers)
        .get_json()
    )
    kinds = sorted((line["kind"], line["outcome"]) for line in detail["lines"])
    assert kinds == [
        ("charge", "matched"), ("charge", "matched"), ("charge", "matched"),
        ("dispute", "matched"), ("payout", "payout"), ("refund", "matched"),
    ]  # fmt: skip
    for line in detail["lines"]:
        if line["kind"] != "payout":
            assert line["ledger_transaction_id"], line
    totals = detail["totals"]
    fees = sum(
        row.fee_minor
        for row in _card_charges(sessions, [refunded_charge, disputed_charge, kept_charge])
    )
    assert totals["gross"] == 400_000_00
    assert totals["refunds"] == 20_000_00
    assert totals["disputes"] == 30_000_00
    assert totals["fees"] == fees + 1500  # the card fees and the dispute fee
    assert (
        totals["gross"] - totals["fees"] - totals["refunds"] - totals["disputes"]
        == (payout["amount"])
    )
    assert totals["reconciles"] is True and totals["difference"] == 0
    assert payout["amount"] == stripe_payout["amount"]  # TZS: Stripe's units are ours

    report = card_app.test_client().get(
        f"/v1/stripe-payouts/{payout['id']}/report", headers=finance.headers
    )
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True))))
    assert {row["outcome"] for row in rows if row["outcome"]} == {"matched", "payout"}

    # Again: nothing changes.
    [again] = _mine(_reconcile(card_app, finance, since), [stripe_payout])
    assert again["reimported"] is True

    # The next payout: the ledger booked another fee than Stripe kept on one charge, and
    # it knows another charge by an id Stripe never paid out (planted in the window).
    mismatched, mismatched_charge = _paid_top_up(card_app, card_runtime, fake, tenant, 50_000_00)
    unpaid, unpaid_charge = _paid_top_up(card_app, card_runtime, fake, tenant, 10_000_00)
    _, last_charge = _paid_top_up(card_app, card_runtime, fake, tenant, 10_000_00)
    with card_runtime.unit_of_work() as session:
        session.execute(
            update(CardCharge)
            .where(CardCharge.id == mismatched_charge)
            .values(fee_minor=CardCharge.fee_minor + 1, net_minor=CardCharge.net_minor - 1)
        )
        session.execute(
            update(CardCharge).where(CardCharge.id == unpaid_charge).values(id="ch_planted")
        )
    [next_payout] = fake._post("/_malipo/payouts", {})["data"]
    done = _mine(_reconcile(card_app, finance, since), [stripe_payout, next_payout])
    assert [p["reimported"] for p in done] == [True, False]  # oldest first
    second = done[1]
    lines = (
        card_app.test_client()
        .get(f"/v1/stripe-payouts/{second['id']}", headers=finance.headers)
        .get_json()["lines"]
    )
    outcome = {line["source_id"]: line["outcome"] for line in lines}
    assert outcome[mismatched_charge] == "amount_mismatch"
    assert outcome[unpaid_charge] == "missing_in_malipo"  # no charge of ours by that id
    assert outcome["ch_planted"] == "not_in_payout"  # ours, and no payout lists it
    assert outcome[last_charge] == "matched"
    assert second["totals"]["outcomes"] == {
        "amount_mismatch": 1, "matched": 1, "missing_in_malipo": 1, "not_in_payout": 1,
        "payout": 1,
    }  # fmt: skip
    assert second["totals"]["reconciles"] is True  # Stripe's own figures still add up
    with sessions() as session:
        item = session.execute(
            select(ReviewItem).where(
                ReviewItem.kind == "payout_amount_mismatch",
                ReviewItem.topup_id == mismatched["id"],
            )
        ).scalar_one()
    assert item.detail["expected_fee"] == item.detail["fee"] + 1
    kinds = {item.kind for item in _items(sessions, [mismatched["id"], unpaid["id"]])}
    assert kinds == {"payout_amount_mismatch", "payout_not_in_payout"}
    queue = card_app.test_client().get(
        "/v1/review-items?kind=payout_amount_mismatch", headers=finance.headers
    )
    assert queue.status_code == 200
    assert any(entry["topup_id"] == mismatched["id"] for entry in queue.get_json())
    assert refunded["id"] and disputed["id"]


def test_a_won_chargeback_is_withdrawn_then_reinstated_and_both_match(
    card_app, card_runtime, fake, make_tenant, finance
):
    since = utcnow() - timedelta(minutes=1)
    tenant = make_tenant()
    _, charge = _paid_top_up(card_app, card_runtime, fake, tenant, 40_000_00)
    dispute = fake.dispute(charge, 15_000_00)
    _deliver(card_runtime, "charge.dispute.created", dispute["id"])
    fake.close_dispute(dispute["id"], "won")
    _deliver(card_runtime, "charge.dispute.closed", dispute["id"])
    fake._post("/_malipo/payouts", {})
    payout = next(p for p in _reconcile(card_app, finance, since) if not p["reimported"])
    lines = (
        card_app.test_client()
        .get(f"/v1/stripe-payouts/{payout['id']}", headers=finance.headers)
        .get_json()["lines"]
    )
    disputes = sorted(
        (row["gross"], row["fee"], row["outcome"]) for row in lines if row["kind"] == "dispute"
    )
    assert disputes == [(-15_000_00, 1500, "matched"), (15_000_00, -1500, "matched")]
    assert all(row["ledger_transaction_id"] for row in lines if row["kind"] == "dispute")
    totals = payout["totals"]
    assert (totals["disputes"], totals["reconciles"]) == (0, True)
    assert totals["outcomes"] == {"matched": 3, "payout": 1}


def test_not_in_payout_follows_stripes_availability_and_flags_a_charge_once(
    card_app, card_runtime, fake, make_tenant, finance
):
    """The rule reads the charge's `available_on`, not Malipo's booking time: a charge
    booked now whose money Stripe makes available later is not flagged yet; one flagged
    is not flagged again by the next payout."""
    since = utcnow() - timedelta(minutes=1)
    tenant = make_tenant()
    _, later = _paid_top_up(card_app, card_runtime, fake, tenant, 10_000_00)
    _, twice = _paid_top_up(card_app, card_runtime, fake, tenant, 10_000_00)
    _, kept = _paid_top_up(card_app, card_runtime, fake, tenant, 10_000_00)
    with card_runtime.unit_of_work() as session:  # Stripe paid them under other ids
        session.execute(
            update(CardCharge)
            .where(CardCharge.id == later)
            .values(id="ch_later", available_at=utcnow() + timedelta(days=2))
        )
        session.execute(update(CardCharge).where(CardCharge.id == twice).values(id="ch_twice"))
    [first] = fake._post("/_malipo/payouts", {})["data"]
    [payout] = _mine(_reconcile(card_app, finance, since), [first])
    outcome = _outcomes(card_app, finance, payout["id"])
    assert outcome["ch_twice"] == "not_in_payout" and outcome[kept] == "matched"
    assert "ch_later" not in outcome  # booked in the window; Stripe pays it out later

    _, last = _paid_top_up(card_app, card_runtime, fake, tenant, 10_000_00)
    made = datetime.fromtimestamp(first["created"], UTC)  # both now inside the next window
    with card_runtime.unit_of_work() as session:
        session.execute(
            update(CardCharge)
            .where(CardCharge.id.in_(["ch_later", "ch_twice"]))
            .values(available_at=made)
        )
    [second] = fake._post("/_malipo/payouts", {})["data"]
    [payout] = _mine(_reconcile(card_app, finance, since), [second])
    outcome = _outcomes(card_app, finance, payout["id"])
    assert outcome["ch_later"] == "not_in_payout" and outcome[last] == "matched"
    assert "ch_twice" not in outcome  # flagged by the first payout: once
    assert payout["totals"]["outcomes"] == {"matched": 1, "not_in_payout": 1, "payout": 1}


def _outcomes(card_app, finance, payout_id: str) -> dict[str, str]:
    lines = (
        card_app.test_client()
        .get(f"/v1/stripe-payouts/{payout_id}", headers=finance.headers)
        .get_json()["lines"]
    )
    return {line["source_id"]: line["outcome"] for line in lines}


def _mine(reconciled: list[dict], payouts: list[dict]) -> list[dict]:
    ids = [payout["id"] for payout in payouts]
    return [payout for payout in reconciled if payout["id"] in ids]


def _items(sessions, topup_ids: list[str]) -> list[ReviewItem]:
    with sessions() as session:
        return list(
            session.execute(select(ReviewItem).where(ReviewItem.topup_id.in_(topup_ids))).scalars()
        )


def _card_charges(sessions, ids: list[str]) -> list[CardCharge]:
    with sessions() as session:
        return list(session.execute(select(CardCharge).where(CardCharge.id.in_(ids))).scalars())


def test_payouts_are_finances_a_tenant_key_is_refused_or_finds_nothing(client, tenant, finance):
    since, until = utcnow() - timedelta(days=1), utcnow()
    body = {"since": since.isoformat(), "until": until.isoformat()}
    assert client.post("/v1/stripe-payouts", json=body, headers=tenant.headers)\
        .status_code == 403  # fmt: skip
    assert client.get("/v1/stripe-payouts", headers=tenant.headers).status_code == 403
    assert client.get("/v1/stripe-payouts/po_anything", headers=tenant.headers).status_code == 404
    assert client.get("/v1/stripe-payouts/po_missing", headers=finance.headers).status_code == 404
    # Without card payments configured there is no Stripe to ask: refused on the field.
    answer = client.post("/v1/stripe-payouts", json=body, headers=finance.headers)
    assert answer.status_code == 422 and "provider" in answer.get_json()["errors"]
    backwards = {"since": until.isoformat(), "until": since.isoformat()}
    answer = client.post("/v1/stripe-payouts", json=backwards, headers=finance.headers)
    assert answer.status_code == 422 and "until" in answer.get_json()["errors"]


def test_the_hourly_job_reconciles_new_payouts_once_and_only_where_cards_are_on(
    app, card_app, card_runtime, fake, make_tenant, sessions
):
    tenant = make_tenant()
    _paid_top_up(card_app, card_runtime, fake, tenant, 60_000_00)
    [stripe_payout] = fake._post("/_malipo/payouts", {})["data"]
    hour = datetime(1999, 1, 1, 10, tzinfo=UTC)  # an hour no other test asks for

    assert request_payout_reconciliation(app.extensions[EXTENSION], hour) is False  # no cards
    assert request_payout_reconciliation(card_runtime, hour) is True  # the job ran in-process
    assert request_payout_reconciliation(card_runtime, hour + timedelta(minutes=59)) is False
    with sessions() as session:
        payout = session.get(StripePayout, stripe_payout["id"])
        assert payout is not None and payout.reconciled_by == "system"
        assert payout.totals["reconciles"] is True
    assert request_payout_reconciliation(card_runtime, hour + timedelta(hours=1)) is True
    with sessions() as session:  # asked again an hour later: matched once, not twice
        assert session.query(StripePayout).filter_by(id=stripe_payout["id"]).count() == 1
        lines = session.query(PayoutLine).filter_by(payout_id=stripe_payout["id"]).count()
        assert lines == 2  # the charge and the payout itself
