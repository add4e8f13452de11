"""Sandbox mode: the service serves TRA's simulator itself, and a restarted service's
simulator, or a second service's beside it, knows the last receipt TRA accepted, so
GC = last + 1 keeps holding."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from werkzeug.serving import make_server

from billing import create_app
from billing.core.config import SANDBOX_VFD_DEVICE, Settings
from billing.invoicing import service
from billing.invoicing.models import Invoice
from billing.invoicing.states import FiscalStatus
from billing.runtime import EXTENSION
from tests.integration.invoicing.conftest import free_port

pytestmark = pytest.mark.integration


@contextmanager
def sandbox_service(database_url: str, port: int, device: dict, pfx: str) -> Iterator[Flask]:
    """A fresh process's worth of service: its own app, and so its own simulator state."""
    app = create_app(
        Settings(
            database_url=database_url, testing=True, secret_key="t",
            public_url=f"http://127.0.0.1:{port}", vfd_mode="sandbox", vfd_device=device,
            vfd_pfx_path=pfx,
        )
    )  # fmt: skip
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with app.app_context():
            yield app
    finally:
        server.shutdown()
        server.server_close()
        app.extensions[EXTENSION].engine.dispose()


def finalise(app: Flask, invoice_id: str) -> Invoice:
    runtime = app.extensions[EXTENSION]
    with runtime.unit_of_work() as session:
        service.finalise(session, runtime.settings, "stf_test", invoice_id)
    with runtime.sessions() as session:
        return session.get(Invoice, invoice_id)


def test_a_restarted_sandbox_remembers_the_last_accepted_receipt(
    database_url, runtime, postpaid_draft, tmp_path
):
    device = {**SANDBOX_VFD_DEVICE, "efd_serial": f"10TZ{uuid.uuid4().hex[:6].upper()}"}
    pfx = str(tmp_path / "sandbox.pfx")  # made on first use, as in a fresh checkout
    drafts = [postpaid_draft(runtime)[1] for _ in range(3)]
    port = free_port()
    with sandbox_service(database_url, port, device, pfx) as app:
        first = [finalise(app, d) for d in drafts[:2]]
    assert [i.fiscal_status for i in first] == [FiscalStatus.ACKNOWLEDGED] * 2
    with sandbox_service(database_url, port, device, pfx) as app:  # the service restarted
        third = finalise(app, drafts[2])
    assert third.gc == first[1].gc + 1
    assert third.fiscal_status is FiscalStatus.ACKNOWLEDGED, third.last_fiscal_error


def test_two_sandboxes_on_one_database_follow_each_others_receipts(
    database_url, runtime, postpaid_draft, tmp_path
):
    """The e2e tests' shared service, beside another test's own `billing serve` (or the
    demo's): the simulator that answered first must not stay behind the other's GCs,
    or it refuses every later receipt and the queue behind its head stops for good."""
    device = {**SANDBOX_VFD_DEVICE, "efd_serial": f"10TZ{uuid.uuid4().hex[:6].upper()}"}
    pfx = str(tmp_path / "sandbox.pfx")
    drafts = [postpaid_draft(runtime)[1] for _ in range(4)]
    with (
        sandbox_service(database_url, free_port(), device, pfx) as early,
        sandbox_service(database_url, free_port(), device, pfx) as other,
    ):
        finalised = [finalise(early, drafts[0])]  # `early`'s simulator has answered
        finalised += [finalise(other, d) for d in drafts[1:3]]  # then the other's, twice
        finalised.append(finalise(early, drafts[3]))
    assert [i.gc for i in finalised] == [finalised[0].gc + n for n in range(4)]
    assert [i.fiscal_status for i in finalised] == [FiscalStatus.ACKNOWLEDGED] * 4, [
        i.last_fiscal_error for i in finalised
    ]
