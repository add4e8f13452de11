"""A statement with every kind of mismatch, through the HTTP API, down to the ledger and
the review queue; and the same file twice changes nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from billing.core.money import Currency
from billing.ledger.balances import account_balance
from billing.ledger.models import Transaction
from billing.ledger.postings import WALLET, clearing
from billing.settlement.books import fees, settled
from billing.settlement.models import Statement, StatementLine
from billing.topups.models import ReviewItem, Topup, TopupStatus
from tests.integration.settlement.statements import (
    a_day,
    make_topup,
    mpesa_charge,
    mpesa_failed,
    mpesa_paid,
    mpesa_payout,
    mpesa_statement,
    mpesa_unknown,
)

pytestmark = pytest.mark.integration


def upload(client, caller, body: bytes, provider: str = "mpesa", name: str = "statement.csv"):
    return client.post(
        f"/v1/reconciliations?provider={provider}",
        data={"file": (io.BytesIO(body), name)},
        headers=caller.headers,
        content_type="multipart/form-data",
    )


@pytest.fixture
def every_mismatch(runtime, tenant):
    """Top-ups of one day in every state, and the M-Pesa statement of that day."""
    day = a_day()
    matched = make_topup(runtime, tenant.tenant_id, day, amount=5_000_00)
    short = make_topup(runtime, tenant.tenant_id, day, amount=10_000_00)
    never_credited = make_topup(
        runtime, tenant.tenant_id, day, amount=2_000_00, status=TopupStatus.EXPIRED
    )
    in_dollars = make_topup(runtime, tenant.tenant_id, day, amount=20_00, currency="USD")
    absent = make_topup(runtime, tenant.tenant_id, day, amount=3_000_00, hour=15)
    body = mpesa_statement(
        day,
        [
            mpesa_paid(matched, day),
            mpesa_charge("FEE0000001", matched.provider_txn_id, day, 60_00),
            mpesa_paid(short, day, amount=9_000_00, minute=7),
            mpesa_paid(never_credited, day, minute=8),
            mpesa_paid(in_dollars, day, minute=9),
            mpesa_unknown("ZZUNKNOWN1", "NOSUCHREF", day, 7_500_00),
            mpesa_paid(matched, day, minute=30),  # listed twice
            mpesa_failed("FAILED0001", day),
            mpesa_charge("FEE0000002", "NOSUCHRECEIPT", day, 10_00),
            mpesa_payout("PAYOUT0001", day, 4_940_00),
        ],
    )
    return (
        day,
        body,
        {
            "matched": matched,
            "short": short,
            "never_credited": never_credited,
            "in_dollars": in_dollars,
            "absent": absent,
        },
    )


def lines_by_outcome(sessions, statement_id: str) -> dict[str, list[StatementLine]]:
    with sessions() as session:
        lines = session.execute(
            select(StatementLine).where(StatementLine.statement_id == statement_id)
        ).scalars()
        found: dict[str, list[StatementLine]] = {}
        for line in lines:
            found.setdefault(line.outcome, []).append(line)
        return found


def test_a_statement_with_every_kind_of_mismatch(client, finance, sessions, every_mismatch):
    day, body, topups = every_mismatch
    response = upload(client, finance, body)
    assert response.status_code == 201, response.get_json()
    statement = response.get_json()
    assert statement["reimported"] is False and statement["lines"] == 10
    found = lines_by_outcome(sessions, statement["id"])

    def topup_of(outcome: str) -> list[str | None]:
        return [line.topup_id for line in found.get(outcome, [])]

    assert topup_of("matched") == [topups["matched"].id]
    assert found["matched"][0].fee_minor == 60_00  # the charge row, linked by receipt
    assert topup_of("amount_mismatch") == [topups["short"].id]
    assert found["amount_mismatch"][0].expected_amount_minor == 10_000_00
    assert topup_of("missing_in_malipo") == [topups["never_credited"].id]
    assert topup_of("currency_mismatch") == [topups["in_dollars"].id]
    assert topup_of("missing_at_provider") == [topups["absent"].id]
    assert topup_of("duplicate") == [topups["matched"].id]
    assert [line.reference for line in found["unknown_payment"]] == ["NOSUCHREF"]
    assert len(found["fee"]) == 1 and len(found["fee_unlinked"]) == 1
    assert len(found["payout"]) == 1 and len(found["ignored"]) == 1

    # Each exception is one open review item, carrying the line it came from.
    with sessions() as session:
        items = {
            item.kind: item
            for item in session.execute(
                select(ReviewItem).where(
                    ReviewItem.id.in_(
                        select(StatementLine.review_item_id).where(
                            StatementLine.statement_id == statement["id"]
                        )
                    )
                )
            ).scalars()
        }
    assert set(items) == {
        "statement_amount_mismatch",
        "statement_currency_mismatch",
        "statement_missing_in_malipo",
        "statement_unknown_payment",
        "statement_missing_at_provider",
        "statement_duplicate",
    }
    short_item = items["statement_amount_mismatch"]
    assert short_item.topup_id == topups["short"].id
    assert short_item.detail["amount"] == 9_000_00
    assert short_item.detail["expected_amount"] == 10_000_00
    assert short_item.detail["statement_id"] == statement["id"]
    assert items["statement_unknown_payment"].topup_id is None
    listed = client.get(
        "/v1/review-items?kind=statement_missing_in_malipo&limit=500", headers=finance.headers
    ).get_json()
    assert items["statement_missing_in_malipo"].id in {item["id"] for item in listed}

    # The matched top-up's settlement is booked: clearing relieved, fee and net apart.
    tenant_id = topups["matched"].tenant_id
    with sessions() as session:
        balance = {
            kind: account_balance(session, tenant_id, kind, Currency.TZS).balance_minor
            for kind in (clearing("mpesa"), fees("mpesa"), settled("mpesa"))
        }
    # Credited: -5,000 -10,000 -3,000 on clearing; the 5,000 settled back.
    assert balance[clearing("mpesa")] == -(10_000_00 + 3_000_00)
    assert balance[fees("mpesa")] == -60_00
    assert balance[settled("mpesa")] == -(5_000_00 - 60_00)

    # The day's summary and the finance CSV say the same.
    summary = client.get(
        f"/v1/reconciliations/summary?day={day.isoformat()}&provider=mpesa",
        headers=finance.headers,
    )
    assert summary.status_code == 200, summary.get_json()
    (tzs,) = [row for row in summary.get_json() if row["currency"] == "TZS"]
    assert (tzs["gross"], tzs["fees"], tzs["net"]) == (5_000_00, 70_00, 4_930_00)
    assert tzs["paid_to_bank"] == 4_940_00 and tzs["unsettled"] == -10_00
    assert tzs["exceptions"]["missing_at_provider"] == 1 and tzs["matched"] == 1
    report = client.get(f"/v1/reconciliations/{statement['id']}/report", headers=finance.headers)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = report.get_data(as_text=True).splitlines()
    assert rows[0].startswith("line_no,kind,provider,provider_txn_id")
    assert len(rows) == 1 + 10 + 1  # header, the file's lines, the one missing at M-Pesa
    assert any(",amount_mismatch," in row and ",9000.00," in row for row in rows)

    page = client.get(
        f"/v1/reconciliations/{statement['id']}/lines?outcome=unknown_payment",
        headers=finance.headers,
    ).get_json()
    assert [line["reference"] for line in page["items"]] == ["NOSUCHREF"]


def test_the_same_file_twice_changes_nothing(client, finance, admin, sessions, every_mismatch):
    _day, body, topups = every_mismatch
    first = upload(client, finance, body).get_json()

    def counts() -> tuple[int, int, int, int]:
        with sessions() as session:
            return (
                session.scalar(select(func.count()).select_from(Statement)),
                session.scalar(select(func.count()).select_from(StatementLine)),
                session.scalar(select(func.count()).select_from(ReviewItem)),
                session.scalar(select(func.count()).select_from(Transaction)),
            )

    before = counts()
    again = upload(client, admin, body, name="renamed.csv")
    assert again.status_code == 201
    assert again.get_json()["reimported"] is True and again.get_json()["id"] == first["id"]
    assert counts() == before

    # The same payments in another file (re-exported): duplicates, nothing booked twice.
    reexported = body.replace(b"MALIPO COMMUNICATIONS LTD", b"MALIPO COMMUNICATIONS LIMITED")
    second = upload(client, finance, reexported).get_json()
    assert second["id"] != first["id"] and second["reimported"] is False
    outcomes = second["totals"]["outcomes"]
    assert "matched" not in outcomes and outcomes["duplicate"] == 5
    assert "missing_at_provider" not in outcomes  # flagged once, by the first
    with sessions() as session:
        booked = session.scalar(
            select(func.count())
            .select_from(Transaction)
            .where(
                Transaction.kind == "settlement",
                Transaction.tenant_id == topups["matched"].tenant_id,
            )
        )
    assert booked == 1


def test_a_missing_top_up_is_credited_after_review_once(
    client, finance, admin, sessions, every_mismatch
):
    _day, body, topups = every_mismatch
    statement = upload(client, finance, body).get_json()
    missing = lines_by_outcome(sessions, statement["id"])["missing_in_malipo"][0]
    tenant_id = topups["never_credited"].tenant_id
    with sessions() as session:
        wallet_before = account_balance(session, tenant_id, WALLET, Currency.TZS).balance_minor

    credited = client.post(
        f"/v1/review-items/{missing.review_item_id}/credit",
        json={"note": "M-Pesa receipt checked against the payer's SMS"},
        headers=finance.headers,
    )
    assert credited.status_code == 200, credited.get_json()
    assert credited.get_json()["status"] == "resolved"
    again = client.post(
        f"/v1/review-items/{missing.review_item_id}/credit",
        json={"note": "twice"},
        headers=admin.headers,
    )
    assert again.status_code == 409
    with sessions() as session:
        topup = session.get(Topup, topups["never_credited"].id)
        assert topup.status is TopupStatus.SUCCEEDED
        assert topup.verification["by"] == "statement"
        wallet = account_balance(session, tenant_id, WALLET, Currency.TZS).balance_minor
        assert wallet == wallet_before + 2_000_00
        line = session.get(StatementLine, missing.id)
        assert line.ledger_transaction_id is not None
        # Credited, then settled from its line: its clearing is square again.
        settlement = session.get(Transaction, line.ledger_transaction_id)
        assert settlement.kind == "settlement"

    # Another kind of item is not credited this way.
    other = lines_by_outcome(sessions, statement["id"])["amount_mismatch"][0]
    refused = client.post(
        f"/v1/review-items/{other.review_item_id}/credit",
        json={"note": "no"},
        headers=finance.headers,
    )
    assert refused.status_code == 409


def test_tenants_and_the_wrong_roles_are_refused(
    client, finance, tenant, make_tenant, every_mismatch
):
    _day, body, _topups = every_mismatch
    statement = upload(client, finance, body).get_json()
    line = lines_by_outcome_client(client, finance, statement["id"], "missing_in_malipo")

    assert upload(client, tenant, body).status_code == 403
    for path in (
        f"/v1/reconciliations/{statement['id']}",
        f"/v1/reconciliations/{statement['id']}/lines",
        f"/v1/reconciliations/{statement['id']}/report",
    ):
        answer = client.get(path, headers=tenant.headers)
        assert answer.status_code == 404, path  # never a hint that it exists
        assert answer.mimetype == "application/problem+json"
    assert client.get("/v1/reconciliations", headers=tenant.headers).status_code == 403
    assert client.get("/v1/reconciliations/summary", headers=tenant.headers).status_code == 403
    credit = client.post(
        f"/v1/review-items/{line['review_item_id']}/credit",
        json={"note": "mine"},
        headers=make_tenant().headers,
    )
    assert credit.status_code == 404
    assert client.get("/v1/reconciliations/stm_NOPE", headers=finance.headers).status_code == 404


def lines_by_outcome_client(client, caller, statement_id: str, outcome: str) -> dict:
    page = client.get(
        f"/v1/reconciliations/{statement_id}/lines?outcome={outcome}", headers=caller.headers
    ).get_json()
    return page["items"][0]
