"""A dispute's whole life through `billing serve`, Redis and a real RQ worker: a top-up
paid by M-Pesa, disputed by the tenant, taken on and refunded by an admin through the
provider; and a pending adjustment approved by a second admin. The books balance and
`billing audit verify` finds the tenant's chain intact."""

from __future__ import annotations

import email
from collections.abc import Iterator

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import select

from billing.events.models import PlatformEvent
from billing.ledger.integrity import find_discrepancies
from tests.e2e.conftest import billing, free_port, start_worker, stop_worker
from tests.integration.invoicing.conftest import Mailbox
from tests.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller = Controller(box, hostname="127.0.0.1", port=free_port())
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
def mailing_worker(service_env, mailbox, tmp_path):
    """`billing worker` e-mailing through a real SMTP server of the test's."""
    env = {
        **service_env,
        "MALIPO_SMTP_HOST": "127.0.0.1",
        "MALIPO_SMTP_PORT": str(mailbox.controller.port),
    }
    process = start_worker(env, tmp_path / "worker.log")
    yield process
    stop_worker(process)


def call(method: str, url: str, caller, body: dict | None = None) -> requests.Response:
    return requests.request(method, url, json=body, headers=caller.headers, timeout=30)


def test_a_disputed_top_up_is_refunded_through_the_worker(
    live_url, mailing_worker, mailbox, make_tenant, admin, sessions, service_env
):
    tenant = make_tenant()
    paid = call(
        "POST",
        f"{live_url}/v1/topups",
        tenant,
        {"amount": 3_000_00, "currency": "TZS", "msisdn": "0754 321 999", "provider": "mpesa"},
    )
    assert paid.status_code == 202, paid.text
    topup_id = paid.json()["id"]
    eventually(
        lambda: (
            call("GET", f"{live_url}/v1/topups/{topup_id}", tenant).json()["status"] == "succeeded"
        ),
        timeout_s=30,
    )

    dispute = call(
        "POST",
        f"{live_url}/v1/disputes",
        tenant,
        {
            "subject_type": "topup",
            "subject_id": topup_id,
            "reason": "Sent from the wrong phone",
        },
    ).json()
    path = f"{live_url}/v1/disputes/{dispute['id']}"
    assert call("POST", f"{path}/assign", admin, {}).json()["status"] == "investigating"
    assert call("POST", f"{path}/comments", admin, {"body": "Refund approved"}).status_code == 201
    done = call(
        "POST", f"{path}/resolve", admin, {"outcome": "refund", "note": "Returned to the payer"}
    )
    assert done.status_code == 200, done.text

    def refunded() -> bool:
        return (
            call("GET", f"{live_url}/v1/topups/{topup_id}", tenant).json()["status"] == "refunded"
        )

    eventually(refunded, timeout_s=30)
    assert call("GET", f"{live_url}/v1/wallet", tenant).json()["balance"] == 0

    def notices() -> list[str]:  # the worker e-mailed each change
        mails = [email.message_from_bytes(m) for m in mailbox.messages]
        return [m["Subject"] for m in mails if dispute["id"] in m["Subject"]]

    eventually(lambda: len(notices()) == 4, timeout_s=30)
    assert {s.split(dispute["id"])[1].strip() for s in notices()} == {
        "was opened",
        "is being investigated",
        "has a new comment",
        "was resolved",
    }
    with sessions() as session:
        types = (
            session.execute(
                select(PlatformEvent.type)
                .where(PlatformEvent.tenant_id == tenant.tenant_id)
                .where(PlatformEvent.type.startswith("dispute."))
                .order_by(PlatformEvent.created_at)
            )
            .scalars()
            .all()
        )
        assert types == [
            "dispute.opened",
            "dispute.investigating",
            "dispute.comment_added",
            "dispute.resolved",
        ]
        assert find_discrepancies(session, tenant.tenant_id) == []
    out = billing(service_env, "audit", "verify", "--chain", f"tenant:{tenant.tenant_id}")
    assert "audit trail intact" in out


def test_a_large_adjustment_waits_for_a_second_admin(
    live_url, worker, make_tenant, admin, finance, service_env
):
    tenant = make_tenant()
    made = call(
        "POST",
        f"{live_url}/v1/adjustments",
        admin,
        {
            "tenant_id": tenant.tenant_id,
            "direction": "credit",
            "amount": 250_000_00,
            "currency": "TZS",
            "reason_code": "missing_topup",
            "note": "Paid at an agent",
        },
    )
    assert made.json()["status"] == "pending"
    path = f"{live_url}/v1/adjustments/{made.json()['id']}"
    assert call("POST", f"{path}/approve", admin, {}).status_code == 403
    assert call("POST", f"{path}/approve", finance, {}).json()["status"] == "applied"
    assert call("GET", f"{live_url}/v1/wallet", tenant).json()["balance"] == 250_000_00
    out = billing(service_env, "audit", "verify", "--chain", f"tenant:{tenant.tenant_id}")
    assert "audit trail intact" in out


def test_disputed_usage_and_invoice_lines_are_corrected_through_the_worker(
    live_url, worker, runtime, make_tenant, admin, finance, sessions
):
    """A call rated by the worker, re-rated with a chosen plan; a postpaid invoice line
    credited, the credit note rendered by the worker."""
    import uuid

    from billing.tariffs.rate_plans import save_plan
    from billing.tariffs.seed import SEED_VALID_FROM
    from billing.tenants.models import BillingMode
    from billing.usage.debits import vat_on
    from tests.factories import on_default_plan, top_up
    from tests.integration.invoicing.conftest import usage
    from tests.integration.usage.conftest import cdr
    from tests.integration.usage.test_rerating import definition

    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        on_default_plan(session, tenant.tenant_id)
        top_up(session, tenant.tenant_id, 1_000_00)
        cheaper = save_plan(session, f"E2E-{uuid.uuid4().hex[:8]}", "cheaper", definition("60"),
                            valid_from=SEED_VALID_FROM).plan.id  # fmt: skip
    sent = call("POST", f"{live_url}/v1/usage/cdrs", admin, {"records": [cdr(tenant.tenant_id)]})
    assert sent.status_code == 200, sent.text

    def billed() -> dict | None:
        items = call("GET", f"{live_url}/v1/usage?status=billed", tenant).json()["items"]
        return items[0] if items else None

    record = eventually(billed, timeout_s=60)
    assert record and record["net"] == 75_83
    body = {"subject_type": "usage", "subject_id": str(record["id"]), "reason": "Wrong plan"}
    dispute = call("POST", f"{live_url}/v1/disputes", tenant, body).json()
    done = call("POST", f"{live_url}/v1/disputes/{dispute['id']}/resolve", admin,
                {"outcome": "rerate", "plan_id": cheaper, "note": "The plan sold"})  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["resolution"]["documents"]["net_difference_minor"] == 65_00 - 75_83
    balance = call("GET", f"{live_url}/v1/wallet", tenant).json()["balance"]
    assert balance == 1_000_00 - (65_00 + vat_on(65_00))  # the cheaper price, with VAT

    postpaid = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.add(usage(postpaid.tenant_id, net_minor=20_000_00))
    draft = call("POST", f"{live_url}/v1/invoices", finance, {
        "tenant_id": postpaid.tenant_id, "period_start": "2026-10-01",
        "period_end": "2026-11-01"}).json()  # fmt: skip
    invoice = call("POST", f"{live_url}/v1/invoices/{draft['id']}/finalize", finance, {}).json()
    line = invoice["lines"][0]["position"]
    disputed = call("POST", f"{live_url}/v1/disputes", postpaid, {
        "subject_type": "invoice_line", "subject_id": invoice["id"], "line": line,
        "reason": "Half of these calls failed"}).json()  # fmt: skip
    resolved = call("POST", f"{live_url}/v1/disputes/{disputed['id']}/resolve", admin,
                    {"outcome": "credit_note", "amount": 10_000_00,
                     "note": "Failed calls billed"})  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    note_id = resolved.json()["resolution"]["documents"]["credit_note_id"]
    pdf = eventually(
        lambda: (r := call("GET", f"{live_url}/v1/invoices/{note_id}/pdf", postpaid)).ok and r,
        timeout_s=60,
    )
    assert pdf and pdf.content.startswith(b"%PDF")
    with sessions() as session:
        for owner in (tenant, postpaid):
            assert find_discrepancies(session, owner.tenant_id) == []
