"""Sandbox mode: TRA's VFD API simulated by this service under /sandbox/tra.

The simulator holds its counters in memory, as TRA holds them on its side; on its first
request after a restart it learns the last receipt TRA would remember — the highest
acknowledged GC in our database — so GC = last + 1 keeps holding across restarts.
"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from billing.core.config import Settings
from billing.invoicing import vfd
from billing.invoicing.models import Invoice
from billing.invoicing.states import FiscalStatus
from billing.runtime import current
from invoices.vfd.simulator import TraState, blueprint


def tra_blueprint(settings: Settings) -> Blueprint:
    d = settings.vfd_device
    state = TraState(
        certificate=None,  # type: ignore[arg-type]  # loaded on the first request
        tin=d["tin"],
        cert_key=d["efd_serial"],
        receipt_code=d["receipt_code"],
        username=d["username"],
        password=d["password"],
    )
    remembered: list[bool] = []
    bp = blueprint(state, name="tra_sandbox")

    @bp.before_request
    def remember() -> None:
        if not remembered:
            with state.lock:
                if not remembered:
                    state.certificate = vfd.signing_key(settings).certificate
                    _remember_last_receipt(state, d["efd_serial"])
                    remembered.append(True)

    bp.tra_state = state  # type: ignore[attr-defined]  # for tests that inject faults
    return bp


def _remember_last_receipt(state: TraState, efd_serial: str) -> None:
    with current().sessions() as session:
        last = session.execute(
            select(Invoice.gc, Invoice.znum, Invoice.dc)
            .where(
                Invoice.efd_serial == efd_serial,
                Invoice.fiscal_status == FiscalStatus.ACKNOWLEDGED,
            )
            .order_by(Invoice.gc.desc())
            .limit(1)
        ).first()
    if last is not None:
        z = last.znum
        state.last_gc, state.last_dc, state.last_day = last.gc, last.dc, f"{z[:4]}-{z[4:6]}-{z[6:]}"
