"""Invoicing fixtures: postpaid tenants with rated usage, a TRA simulator on loopback, an
app whose VFD client points at it, and a real SMTP server (aiosmtpd) catching e-mail."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from werkzeug.serving import make_server

from billing import create_app
from billing.core.config import Settings
from billing.core.money import Currency
from billing.invoicing import service
from billing.runtime import EXTENSION, Runtime
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import SEED_VALID_FROM, default_plan_definition, seed_destinations
from billing.tenants.models import BillingMode
from billing.usage.models import UsageRecord, UsageStatus
from invoices.vfd.devcert import make_self_signed_pfx
from invoices.vfd.signing import load_pfx
from invoices.vfd.simulator import TraState
from invoices.vfd.simulator import create_app as tra_app

OCTOBER = (date(2026, 10, 1), date(2026, 11, 1))
_serials = itertools.count(1)


def usage(tenant_id: str, *, net_minor: int = 1_000_00, at: datetime | None = None, **fields):
    values = dict(
        source_system="test",
        source_id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        service="voice",
        to_number="255754000111",
        occurred_at=at or datetime(2026, 10, 5, 9, tzinfo=UTC),
        started_at=at or datetime(2026, 10, 5, 9, tzinfo=UTC),
        status=UsageStatus.ACCRUED,
        zone="TZ-MOB-VODACOM",
        unit="second",
        billed_units=600,
        currency="TZS",
        net_minor=net_minor,
    )
    values.update(fields)
    return UsageRecord(**values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Tra:
    """A TRA simulator for one VFD, on a fixed loopback port; start and stop it at will."""

    def __init__(self, state: TraState, port: int) -> None:
        self.state, self.port, self._server = state, port, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Tra:
        self._server = make_server("127.0.0.1", self.port, tra_app(self.state), threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def tra(tmp_path) -> Iterator[Tra]:
    """A fresh VFD (its own serial, receipt code and key) and TRA's side of it, not started."""
    n = next(_serials)
    pfx = make_self_signed_pfx(0x5A000000 + n, "test")
    (tmp_path / "vfd.pfx").write_bytes(pfx)
    state = TraState(
        certificate=load_pfx(pfx, "test").certificate,
        cert_key=f"10TZ{uuid.uuid4().hex[:6].upper()}",
        receipt_code=f"T{uuid.uuid4().hex[:5].upper()}",
        fault_delay=1.5,
    )
    sim = Tra(state, free_port())
    yield sim
    sim.stop()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.controller = controller  # a test may stop it (the mail server is down) and replace it
    yield mailbox, controller.port
    mailbox.controller.stop()


@pytest.fixture
def fiscal_app(database_url: str, tra: Tra, smtp, tmp_path) -> Iterator[Flask]:
    """The app, jobs in-process, its VFD being `tra`'s, e-mailing to `smtp`."""
    _mailbox, port = smtp
    state = tra.state
    settings = Settings(
        database_url=database_url,
        testing=True,
        secret_key="test",
        vfd_mode="test",
        vfd_base_url=tra.url,
        vfd_pfx_path=str(tmp_path / "vfd.pfx"),
        vfd_pfx_password="test",
        vfd_timeout_s=0.7,
        vfd_device={
            "tin": state.tin, "regid": "TZ0100000001", "efd_serial": state.cert_key,
            "receipt_code": state.receipt_code, "uin": "09VFDWEBAPI-TEST",
            "username": state.username, "password": state.password,
        },
        smtp_host="127.0.0.1",
        smtp_port=port,
    )  # fmt: skip
    app = create_app(settings)
    with app.app_context():
        yield app
    app.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def fiscal_runtime(fiscal_app: Flask) -> Runtime:
    return fiscal_app.extensions[EXTENSION]


@pytest.fixture
def client(fiscal_app: Flask):
    return fiscal_app.test_client()


@pytest.fixture
def issued(client, finance, make_tenant, fiscal_runtime, tra):
    """A finalised postpaid October invoice of TZS 14,345.67 net, as its tenant sees it."""
    tra.start()
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with fiscal_runtime.unit_of_work() as session:
        session.add_all([usage(tenant.tenant_id, net_minor=12_345_67),
                         usage(tenant.tenant_id, net_minor=2_000_00)])  # fmt: skip
    period = {"period_start": OCTOBER[0].isoformat(), "period_end": OCTOBER[1].isoformat()}
    made = client.post("/v1/invoices", json={"tenant_id": tenant.tenant_id, **period},
                       headers=finance.headers)  # fmt: skip
    invoice = client.post(f"/v1/invoices/{made.json['id']}/finalize", json={},
                          headers=finance.headers).json  # fmt: skip
    assert invoice["payment_status"] == "unpaid" and invoice["amount_paid"] == 0
    return tenant, invoice


@pytest.fixture
def postpaid_draft(make_tenant):
    """A postpaid tenant with some rated October usage, and its October draft."""

    def make(runtime: Runtime, *, currency: Currency = Currency.TZS, records: int = 2):
        tenant = make_tenant(currency=currency, billing_mode=BillingMode.POSTPAID)
        with runtime.unit_of_work() as session:
            session.add_all(
                usage(tenant.tenant_id, net_minor=1_000_00 + n, currency=currency.value)
                for n in range(records)
            )
        with runtime.unit_of_work() as session:
            invoice, _created = service.create_postpaid_draft(
                session, "stf_test", tenant.tenant_id, *OCTOBER
            )
        return tenant, invoice.id

    return make


def with_settings(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, **changes)


def peak_rates(yas: str, vodacom: str) -> dict:
    plan = copy.deepcopy(default_plan_definition())
    for rate in plan["duration_rates"]:
        if rate["band"] == "peak" and rate["zone"] == "TZ-MOB-YAS":
            rate["rate"] = Decimal(yas)
        elif rate["band"] == "peak" and rate["zone"] == "TZ-MOB-VODACOM":
            rate["rate"] = Decimal(vodacom)
    return plan


@pytest.fixture
def postpaid(make_tenant, fiscal_runtime):
    """A postpaid tenant on a plan of its own (peak 70 a minute to Yas and to Vodacom), and
    a function correcting that plan's peak rates."""
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    code = f"TEST-{uuid.uuid4().hex[:8]}"
    with fiscal_runtime.unit_of_work() as session:
        seed_destinations(session)
        saved = save_plan(session, code, "test", peak_rates("70", "70"), valid_from=SEED_VALID_FROM)
        assign_plan(session, tenant.tenant_id, saved.plan.id, valid_from=SEED_VALID_FROM)

    def correct(yas: str, vodacom: str = "70") -> None:
        with fiscal_runtime.unit_of_work() as session:
            save_plan(session, code, "test", peak_rates(yas, vodacom), valid_from=SEED_VALID_FROM)

    return tenant, correct
