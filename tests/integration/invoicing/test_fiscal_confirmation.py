"""A receipt TRA took while our database was cut: its resend is refused as a duplicate and
the device's queue waits behind it (fail closed), until an admin confirms it against TRA;
then the receipts behind it go through, in order. Against the sandbox TRA this service
serves itself, over HTTP, with the database cut by a real TCP proxy."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask, request
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import make_server

from billing import create_app
from billing.audit.models import AuditEvent
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.config import SANDBOX_VFD_DEVICE, Settings
from billing.invoicing import service, vfd
from billing.invoicing.fiscal import drain
from billing.invoicing.models import Invoice, VfdCounter
from billing.invoicing.states import FiscalStatus
from billing.runtime import EXTENSION, Runtime
from billing.topups.models import ReviewItem, ReviewStatus
from invoices.vfd.signing import open_envelope
from tests.conftest import Caller
from tests.fault_proxy import FaultProxy
from tests.integration.invoicing.conftest import free_port
from tests.polling import eventually

pytestmark = pytest.mark.integration
PENDING = FiscalStatus.PENDING
BILLING = str(Path(sys.executable).parent / "billing")


@dataclasses.dataclass
class Sandbox:
    app: Flask
    proxy: FaultProxy
    database_url: str  # through the proxy
    cut_after_ack: bool = False  # cut the database as TRA's ACK 0 leaves the sandbox

    @property
    def runtime(self) -> Runtime:
        return self.app.extensions[EXTENSION]

    @property
    def tra(self):
        return self.app.blueprints["tra_sandbox"].tra_state


@pytest.fixture
def sandbox(database_url: str, tmp_path) -> Iterator[Sandbox]:
    """A served sandbox Malipo (TRA simulated under /sandbox/tra) on a VFD of its own,
    whose database connection goes through a proxy the test can cut."""
    real = make_url(database_url)
    proxy = FaultProxy(real.host or "127.0.0.1", real.port or 5432)
    port = free_port()
    through = real.set(port=proxy.port).render_as_string(hide_password=False)
    app = create_app(
        Settings(
            database_url=through, public_url=f"http://127.0.0.1:{port}", testing=True,
            secret_key="t", vfd_mode="sandbox", vfd_pfx_path=str(tmp_path / "sandbox.pfx"),
            vfd_device={**SANDBOX_VFD_DEVICE, "efd_serial": f"10TZ{uuid.uuid4().hex[:6].upper()}"},
        )
    )  # fmt: skip
    box = Sandbox(app, proxy, through)

    @app.after_request
    def lose_the_commit(response):
        acked = b"<ACKCODE>0</ACKCODE>" in response.get_data()
        if box.cut_after_ack and request.path.endswith("/efdmsRctInfo") and acked:
            box.cut_after_ack = False
            proxy.cut()  # TRA has taken it; our commit of its ACK cannot happen
        return response

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with app.app_context():
        yield box
    server.shutdown()
    server.server_close()
    proxy.close()
    app.extensions[EXTENSION].engine.dispose()


def drain_again(box: Sandbox) -> int:
    settings = box.runtime.settings
    return drain(box.runtime, vfd.client(settings), vfd.device(settings).efd_serial)


def load(runtime: Runtime, invoice_id: str) -> Invoice:
    with runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        _ = invoice.receipt_body
        return invoice


def review_items(runtime: Runtime, invoice_id: str) -> list[ReviewItem]:
    """The "TRA keeps refusing" items of a receipt (opened at its 5th refusal)."""
    with runtime.sessions() as session:
        items = session.execute(select(ReviewItem).where(ReviewItem.kind == "vfd_rejected"))
        return [i for i in items.scalars() if i.detail.get("invoice_id") == invoice_id]


@pytest.fixture
def stuck(sandbox, runtime, postpaid_draft) -> list[str]:
    """Three receipts of the sandbox's VFD; TRA took the first, whose ACK our database
    never recorded, refused its resend, and the two behind it wait."""
    drafts = [postpaid_draft(runtime)[1] for _ in range(3)]
    sandbox.tra.faults.extend(["http500"] * 3)  # each finalise's drain stops at the head
    for draft in drafts:
        with sandbox.runtime.unit_of_work() as session:
            service.finalise(session, sandbox.runtime.settings, "stf_test", draft)
    sandbox.cut_after_ack = True
    with pytest.raises(DBAPIError):
        drain_again(sandbox)  # TRA answers ACK 0 into a database that is gone
    sandbox.proxy.restore()
    head = load(runtime, drafts[0])
    assert head.fiscal_status is FiscalStatus.PENDING  # fail closed: nothing recorded
    assert sandbox.tra.accepted == [open_envelope(head.receipt_body)[0]]
    with runtime.unit_of_work() as session:  # the dead drainer's lease runs out
        session.execute(
            update(VfdCounter).where(VfdCounter.efd_serial == head.efd_serial)
            .values(drain_until=datetime.now(UTC) - timedelta(seconds=1))
        )  # fmt: skip
    for _ in range(2):
        assert drain_again(sandbox) == 0  # the resend: refused, and the queue waits
    refused = load(runtime, drafts[0])
    assert refused.fiscal_status is FiscalStatus.PENDING and refused.last_ack_code == 5
    assert "Duplicate RCTVNUM" in refused.last_fiscal_error
    behind = [load(runtime, d) for d in drafts[1:]]
    assert [(i.fiscal_status, i.fiscal_attempts) for i in behind] == [(PENDING, 0)] * 2
    return drafts


def test_an_admin_confirms_the_receipt_tra_holds_and_the_queue_moves_on_in_order(
    sandbox, stuck, runtime, admin, finance
):
    api = sandbox.app.test_client()
    assert [i.status for i in review_items(runtime, stuck[0])] == [ReviewStatus.OPEN]
    listed = api.get("/v1/fiscal/stuck", headers=finance.headers)
    assert listed.status_code == 200
    (item,) = [i for i in listed.json["items"] if i["invoice_id"] == stuck[0]]
    head = load(runtime, stuck[0])
    assert (item["gc"], item["waiting_behind"], item["last_ack_code"]) == (head.gc, 2, 5)
    code_and_time = f"{head.rctvnum}_{head.receipt_time.replace(':', '')}"
    assert item["verification_url"].endswith(f"/{code_and_time}")

    confirmed = api.post(f"/v1/invoices/{stuck[0]}/fiscal-confirmation",
                         json={"verification_code": item["verification_url"],
                               "note": "seen on TRA's verification page"},
                         headers=admin.headers)  # fmt: skip
    assert confirmed.status_code == 200, confirmed.json
    fiscal = confirmed.json["fiscal"]
    assert fiscal["status"] == "acknowledged" and fiscal["confirmed_at"]
    assert fiscal["tra_verification"] == code_and_time
    assert fiscal["confirmed_by"].startswith("stf_")

    def all_acknowledged() -> bool:
        return all(load(runtime, d).fiscal_status is FiscalStatus.ACKNOWLEDGED for d in stuck)

    assert eventually(all_acknowledged, timeout_s=30)
    receipts = [load(runtime, d) for d in stuck]
    assert [r.gc for r in receipts] == [receipts[0].gc + n for n in range(3)]
    assert sandbox.tra.accepted == [open_envelope(r.receipt_body)[0] for r in receipts]
    assert [r.fiscal_confirmed_by for r in receipts[1:]] == [None, None]  # TRA's own ACK 0
    assert [i.status for i in review_items(runtime, stuck[0])] == [ReviewStatus.RESOLVED]

    again = api.post(f"/v1/invoices/{stuck[0]}/fiscal-confirmation",
                     json={"verification_code": head.rctvnum}, headers=admin.headers)  # fmt: skip
    assert again.status_code == 200 and again.json["fiscal"] == fiscal  # nothing changed
    with runtime.sessions() as session:
        events = session.execute(
            select(AuditEvent).where(AuditEvent.subject_id == stuck[0],
                                     AuditEvent.action == "invoice.fiscal_confirmed")
        ).scalars().all()  # fmt: skip
    assert len(events) == 1 and events[0].actor == fiscal["confirmed_by"]
    assert events[0].detail["last_ack_code"] == 5 and events[0].detail["before"]
    still = api.get("/v1/fiscal/stuck", headers=finance.headers).json["items"]
    assert stuck[0] not in [i["invoice_id"] for i in still]


def test_what_cannot_be_confirmed_is_refused_as_problem_json(
    sandbox, stuck, runtime, admin, finance, make_tenant
):
    api = sandbox.app.test_client()
    head, second = load(runtime, stuck[0]), load(runtime, stuck[1])

    def confirm(invoice_id: str, code: str, caller: Caller):
        return api.post(f"/v1/invoices/{invoice_id}/fiscal-confirmation",
                        json={"verification_code": code}, headers=caller.headers)  # fmt: skip

    for response, status in [
        (confirm(stuck[0], head.rctvnum, finance), 403),  # admins only
        (confirm(stuck[0], head.rctvnum, make_tenant()), 404),  # another tenant's: unseen
        (confirm(stuck[0], second.rctvnum, admin), 422),  # another receipt's code
        (confirm(stuck[0], f"{head.rctvnum}_000000", admin), 422),  # another time
        (confirm(stuck[0], f"https://evil.example/{head.rctvnum}", admin), 422),
        (confirm(stuck[1], second.rctvnum, admin), 409),  # behind the head: TRA cannot hold it
        (confirm("inv_nosuch", head.rctvnum, admin), 404),
    ]:
        assert response.status_code == status, response.json
        assert response.content_type == "application/problem+json"
    wrong = confirm(stuck[0], second.rctvnum, admin).json
    assert wrong["status"] == 422 and "verification_code" in wrong["errors"]
    assert load(runtime, stuck[1]).fiscal_status is FiscalStatus.PENDING


def billing(database_url: str, box: Sandbox, *args: str) -> subprocess.CompletedProcess:
    """`billing fiscal …` in a process of its own, configured as the sandbox service is."""
    settings = box.runtime.settings
    env = {**os.environ, "DATABASE_URL": database_url, "MALIPO_PUBLIC_URL": settings.public_url,
           "MALIPO_VFD_DEVICE": json.dumps(settings.vfd_device),
           "MALIPO_VFD_PFX_PATH": settings.vfd_pfx_path}  # fmt: skip
    env.pop("REDIS_URL", None)
    return subprocess.run([BILLING, "fiscal", *args], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_the_operator_lists_and_confirms_from_the_command_line(
    sandbox, stuck, runtime, database_url
):
    head = load(runtime, stuck[0])
    with runtime.unit_of_work() as session:
        admin_user, _ = create_staff(session, email=f"{uuid.uuid4().hex[:8]}@malipo.test",
                                     role=Role.ADMIN)  # fmt: skip
        finance_user, _ = create_staff(session, email=f"{uuid.uuid4().hex[:8]}@malipo.test",
                                       role=Role.FINANCE)  # fmt: skip
    listed = billing(database_url, sandbox, "stuck")
    assert listed.returncode == 0, listed.stderr
    assert f"GC {head.gc} code {head.rctvnum}" in listed.stdout and "2 waiting" in listed.stdout
    confirm = ("confirm", head.number_text, "--verification-code", head.rctvnum)
    refused = billing(database_url, sandbox, *confirm, "--by", finance_user.email)
    assert refused.returncode == 1 and "not an admin" in refused.stderr
    done = billing(database_url, sandbox, *confirm, "--by", admin_user.email, "--note", "portal")
    assert done.returncode == 0, done.stderr
    assert f"confirmed by {admin_user.email}" in done.stdout
    confirmed = load(runtime, stuck[0])
    assert confirmed.fiscal_status is FiscalStatus.ACKNOWLEDGED
    assert confirmed.fiscal_confirmed_by == admin_user.id and confirmed.tra_verification
    # The command's own process posted the receipts behind it (jobs run in-process here).
    receipts = [load(runtime, d) for d in stuck]
    assert [r.fiscal_status for r in receipts] == [FiscalStatus.ACKNOWLEDGED] * 3
    assert sandbox.tra.accepted == [open_envelope(r.receipt_body)[0] for r in receipts]
    assert stuck[0] not in billing(database_url, sandbox, "stuck").stdout
