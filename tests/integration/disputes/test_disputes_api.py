"""Disputes over HTTP: opening with attachments, who sees what, comments, the SLA clock,
state changes told to the tenant, resolution by credit or rejection, idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from billing.audit.models import AuditEvent
from billing.disputes.service import open_dispute as open_by_service
from billing.events.models import PlatformEvent
from billing.ledger.balances import account_balance
from billing.ledger.postings import ADJUSTMENTS, WALLET
from billing.topups.models import ReviewItem, Topup, TopupStatus
from billing.topups.reviews import open_item
from tests.integration.disputes.support import (
    PDF,
    assert_books_and_trail_sound,
    attachment,
    open_dispute,
    resolve,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def topup_of(runtime):
    """A credited top-up row of the tenant's (the money moves are other tests' business)."""

    def make(tenant, amount=5_000_00) -> str:
        from billing.core.ids import new_id

        with runtime.unit_of_work() as session:
            topup = Topup(
                id=new_id("top"),
                tenant_id=tenant.tenant_id,
                reference=new_id("r")[-20:],
                provider="mpesa",
                msisdn="255754000111",
                amount_minor=amount,
                currency="TZS",
                status=TopupStatus.SUCCEEDED,
                initiation="sent",
            )
            session.add(topup)
        return topup.id

    return make


def events_of(sessions, tenant_id: str) -> list[str]:
    with sessions() as session:
        return list(
            session.execute(
                select(PlatformEvent.type)
                .where(PlatformEvent.tenant_id == tenant_id)
                .where(PlatformEvent.type.startswith("dispute."))
                .order_by(PlatformEvent.created_at, PlatformEvent.id)
            ).scalars()
        )


def test_a_tenant_opens_a_dispute_with_an_attachment_and_follows_it(
    client, tenant, admin, topup_of, sessions
):
    topup_id = topup_of(tenant)
    made = open_dispute(
        client,
        tenant,
        subject_type="topup",
        subject_id=topup_id,
        priority="high",
        attachments=[attachment()],
    )
    assert (made["status"], made["priority"], made["sla"]) == ("open", "high", "running")
    assert made["subject_id"] == topup_id and made["currency"] == "TZS"
    [file] = made["attachments"]
    assert file["content_type"] == "application/pdf" and file["size_bytes"] == len(PDF)
    download = client.get(
        f"/v1/disputes/{made['id']}/attachments/{file['id']}", headers=tenant.headers
    )
    assert download.status_code == 200 and download.data == PDF
    listed = client.get("/v1/disputes", headers=tenant.headers).get_json()["items"]
    assert [d["id"] for d in listed] == [made["id"]]
    assert events_of(sessions, tenant.tenant_id) == ["dispute.opened"]


def test_another_tenant_sees_nothing_of_it(client, make_tenant, admin, topup_of):
    owner, stranger = make_tenant(), make_tenant()
    made = open_dispute(
        client, owner, subject_type="topup", subject_id=topup_of(owner), attachments=[attachment()]
    )
    file_id = made["attachments"][0]["id"]
    for method, path, body in (
        ("get", f"/v1/disputes/{made['id']}", None),
        ("post", f"/v1/disputes/{made['id']}/comments", {"body": "mine now"}),
        ("get", f"/v1/disputes/{made['id']}/attachments/{file_id}", None),
        ("get", f"/v1/disputes/{made['id']}/evidence", None),
        ("post", f"/v1/disputes/{made['id']}/resolve", {"outcome": "rejected", "note": "x"}),
    ):
        response = getattr(client, method)(path, json=body, headers=stranger.headers)
        assert response.status_code == 404, (path, response.get_json())
    assert client.get("/v1/disputes", headers=stranger.headers).get_json()["items"] == []
    # Nor can it dispute the other tenant's top-up: 404, as for an id that does not exist.
    open_dispute(client, stranger, 404, subject_type="topup", subject_id=topup_of(owner))


def test_internal_comments_stay_with_staff(client, tenant, admin, topup_of, sessions):
    made = open_dispute(client, tenant, subject_type="topup", subject_id=topup_of(tenant))
    path = f"/v1/disputes/{made['id']}"
    assert (
        client.post(
            f"{path}/comments",
            json={"body": "looks like fraud", "visibility": "internal"},
            headers=admin.headers,
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{path}/comments", json={"body": "We are checking with M-Pesa"}, headers=admin.headers
        ).status_code
        == 201
    )
    refused = client.post(
        f"{path}/comments", json={"body": "x", "visibility": "internal"}, headers=tenant.headers
    )
    assert refused.status_code == 422 and "visibility" in refused.get_json()["errors"]
    assert (
        client.post(f"{path}/comments", json={"body": "thanks"}, headers=tenant.headers).status_code
        == 201
    )
    seen = client.get(path, headers=tenant.headers).get_json()["comments"]
    assert [c["body"] for c in seen] == ["We are checking with M-Pesa", "thanks"]
    listed = client.get("/v1/disputes", headers=tenant.headers).get_json()["items"][0]
    assert "looks like fraud" not in str(listed)
    staff = client.get(path, headers=admin.headers).get_json()["comments"]
    assert [c["visibility"] for c in staff] == ["internal", "tenant", "tenant"]
    # The tenant was told of the visible staff comment, not of the internal one.
    assert events_of(sessions, tenant.tenant_id) == ["dispute.opened", "dispute.comment_added"]


@pytest.mark.parametrize(
    ("upload", "field"),
    [
        (attachment(b"MZ\x90\x00 not a pdf"), "attachments.0.content_base64"),
        (attachment(PDF, "application/x-msdownload", "x.exe"), "attachments.0.content_type"),
        (attachment(b"\xff\xfe\x00bad", "text/plain", "a.txt"), "attachments.0.content_base64"),
        ({**attachment(), "content_base64": "***"}, "attachments.0.content_base64"),
    ],
)
def test_attachments_are_checked_by_type_and_content(client, tenant, topup_of, upload, field):
    response = client.post(
        "/v1/disputes",
        json={
            "subject_type": "topup",
            "subject_id": topup_of(tenant),
            "reason": "r",
            "attachments": [upload],
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.get_json()
    assert field in str(response.get_json()["errors"])


def test_an_attachment_past_the_size_limit_is_refused(client, tenant, topup_of):
    big = attachment(PDF + b"0" * (2 * 1024 * 1024))
    response = client.post(
        "/v1/disputes",
        json={
            "subject_type": "topup",
            "subject_id": topup_of(tenant),
            "reason": "r",
            "attachments": [big],
        },
        headers=tenant.headers,
    )
    assert response.status_code in (413, 422)


def test_attachments_kept_in_a_configured_folder(database_url, tmp_path, make_tenant, topup_of):
    from billing import create_app
    from billing.core.config import Settings

    app = create_app(
        Settings(
            database_url=database_url,
            testing=True,
            secret_key="t",
            dispute_attachment_dir=str(tmp_path),
        )
    )
    client, tenant = app.test_client(), make_tenant()
    made = open_dispute(
        client,
        tenant,
        subject_type="topup",
        subject_id=topup_of(tenant),
        attachments=[attachment()],
    )
    [stored] = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert stored.read_bytes() == PDF
    file_id = made["attachments"][0]["id"]
    got = client.get(f"/v1/disputes/{made['id']}/attachments/{file_id}", headers=tenant.headers)
    assert got.data == PDF


def test_staff_take_it_on_and_credit_the_wallet_once(client, tenant, admin, topup_of, sessions):
    made = open_dispute(client, tenant, subject_type="topup", subject_id=topup_of(tenant))
    path = f"/v1/disputes/{made['id']}"
    taken = client.post(f"{path}/assign", json={"priority": "urgent"}, headers=admin.headers)
    assert taken.status_code == 200, taken.get_json()
    assert (taken.get_json()["status"], taken.get_json()["priority"]) == ("investigating", "urgent")
    assert taken.get_json()["owner_id"]
    assert client.post(f"{path}/assign", json={}, headers=tenant.headers).status_code == 403
    body = {"outcome": "credit", "amount": 1_500_00, "note": "Goodwill for the delay"}
    done = resolve(client, admin, made["id"], **body)
    assert done["status"] == "resolved" and done["sla"] == "met"
    [transaction_id] = done["resolution"]["ledger_transaction_ids"]
    again = resolve(client, admin, made["id"], **body)  # the same request: the same answer
    assert again["resolution"] == done["resolution"]
    resolve(client, admin, made["id"], 409, outcome="credit", amount=9_00, note="more")
    with sessions() as session:
        assert account_balance(session, tenant.tenant_id, WALLET, "TZS").balance_minor == 1_500_00
        assert account_balance(session, tenant.tenant_id, ADJUSTMENTS, "TZS").balance_minor == (
            -1_500_00
        )
        actions = session.execute(
            select(
                AuditEvent.action, AuditEvent.role, AuditEvent.request_id, AuditEvent.client_address
            )
            .where(AuditEvent.subject_id == made["id"])
            .order_by(AuditEvent.id)
        ).all()
    assert [a.action for a in actions] == ["dispute.opened", "dispute.taken_on", "dispute.resolved"]
    assert actions[2].role == "admin" and actions[2].request_id and actions[2].client_address
    assert events_of(sessions, tenant.tenant_id) == [
        "dispute.opened",
        "dispute.investigating",
        "dispute.resolved",
    ]
    entries = client.get("/v1/wallet/entries", headers=tenant.headers).get_json()["items"]
    assert str(entries[0]["transaction_id"]) == transaction_id or entries[0]["amount"] == 1_500_00
    assert_books_and_trail_sound(sessions, tenant.tenant_id)


def test_a_rejection_moves_no_money_and_says_why(client, tenant, admin, topup_of, sessions):
    made = open_dispute(client, tenant, subject_type="topup", subject_id=topup_of(tenant))
    assert (
        client.post(
            f"/v1/disputes/{made['id']}/resolve",
            json={"outcome": "rejected"},
            headers=admin.headers,
        ).status_code
        == 422
    )
    done = resolve(
        client, admin, made["id"], outcome="rejected", note="The payment was credited on 2 March"
    )
    assert done["status"] == "rejected" and done["resolution"]["ledger_transaction_ids"] == []
    seen = client.get(f"/v1/disputes/{made['id']}", headers=tenant.headers).get_json()
    assert seen["resolution"]["note"] == "The payment was credited on 2 March"
    with sessions() as session:
        assert account_balance(session, tenant.tenant_id, WALLET, "TZS").balance_minor == 0
    # Closed: the tenant cannot comment on; finance cannot resolve (admin only).
    assert (
        client.post(
            f"/v1/disputes/{made['id']}/comments", json={"body": "but"}, headers=tenant.headers
        ).status_code
        == 409
    )
    assert_books_and_trail_sound(sessions, tenant.tenant_id)


def test_finance_may_read_evidence_but_not_resolve(client, tenant, finance, topup_of):
    made = open_dispute(client, tenant, subject_type="topup", subject_id=topup_of(tenant))
    evidence = client.get(f"/v1/disputes/{made['id']}/evidence", headers=finance.headers)
    assert evidence.status_code == 200 and evidence.get_json()["topup"]["id"] == made["subject_id"]
    assert (
        client.get(
            f"/v1/disputes/{made['id']}/evidence", headers=client_tenant_headers(tenant)
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/v1/disputes/{made['id']}/resolve",
            json={"outcome": "rejected", "note": "n"},
            headers=finance.headers,
        ).status_code
        == 403
    )


def client_tenant_headers(tenant) -> dict:
    return tenant.headers


def test_a_review_item_becomes_a_dispute_once(client, runtime, tenant, admin, topup_of):
    topup_id = topup_of(tenant)
    with runtime.unit_of_work() as session:
        open_item(
            session,
            kind="amount_mismatch",
            summary="callback said TZS 4,000",
            detail={"amount": [500000, 400000]},
            tenant_id=tenant.tenant_id,
            topup_id=topup_id,
        )
    with runtime.sessions() as session:
        item_id = session.execute(
            select(ReviewItem.id).where(ReviewItem.topup_id == topup_id)
        ).scalar_one()
    first = client.post(f"/v1/review-items/{item_id}/dispute", json={}, headers=admin.headers)
    assert first.status_code == 201, first.get_json()
    again = client.post(f"/v1/review-items/{item_id}/dispute", json={}, headers=admin.headers)
    assert again.get_json()["id"] == first.get_json()["id"]
    made = first.get_json()
    assert (made["source"], made["priority"], made["subject_id"]) == (
        "review_item",
        "high",
        topup_id,
    )
    # The tenant sees it as its own.
    assert client.get(f"/v1/disputes/{made['id']}", headers=tenant.headers).status_code == 200
    assert (
        client.post(
            f"/v1/review-items/{item_id}/dispute", json={}, headers=tenant.headers
        ).status_code
        == 404
    )


def test_the_service_function_opens_for_other_sources_once(runtime, tenant, topup_of):
    topup_id = topup_of(tenant)
    with runtime.unit_of_work() as session:
        first = open_by_service(
            session,
            tenant_id=tenant.tenant_id,
            subject_kind="topup",
            subject_id=topup_id,
            message="chargeback: fraudulent",
            opened_by="system",
            source="chargeback",
            source_ref=f"ch_{topup_id}",
            priority="urgent",
        ).id
    with runtime.unit_of_work() as session:
        second = open_by_service(
            session,
            tenant_id=tenant.tenant_id,
            subject_kind="topup",
            subject_id=topup_id,
            message="again",
            opened_by="system",
            source="chargeback",
            source_ref=f"ch_{topup_id}",
        ).id
    assert first == second


def test_bad_input_names_the_field(client, tenant):
    for body, field in (
        ({"subject_type": "usage_period", "reason": "r"}, "period_start"),
        ({"subject_type": "topup", "reason": "r"}, "subject_id"),
        ({"subject_type": "nope", "subject_id": "x", "reason": "r"}, "subject_type"),
        (
            {
                "subject_type": "usage_period",
                "reason": "r",
                "period_start": "2026-03-05",
                "period_end": "2026-03-01",
            },
            "period_end",
        ),
        ({"subject_type": "usage", "subject_id": "99999999999999999999", "reason": "r"}, None),
    ):
        response = client.post("/v1/disputes", json=body, headers=tenant.headers)
        if field is None:
            assert response.status_code == 404
            continue
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], response.get_json()


def test_two_openers_from_one_origin_racing_make_one_dispute(runtime, tenant, topup_of):
    import threading

    topup_id = topup_of(tenant)
    start = threading.Barrier(4)
    made: list[str] = []

    def opener() -> None:
        start.wait()
        with runtime.unit_of_work() as session:
            dispute = open_by_service(
                session, tenant_id=tenant.tenant_id, subject_kind="topup", subject_id=topup_id,
                message="settlement: paid at the provider, missing here", opened_by="system",
                source="settlement", source_ref=f"stl_{topup_id}",
            )  # fmt: skip
            made.append(dispute.id)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 4 and len(set(made)) == 1
