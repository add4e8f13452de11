"""Sandbox mode: TRA's VFD API simulated by this service under /sandbox/tra.

The simulator holds its counters in memory, as TRA holds them on its side. TRA is one
service, but each `billing serve` (a restart, a second server, the demo's own) has its
own simulator: before each request it catches up with the last receipt TRA would
remember, the highest acknowledged GC in our database, when that is ahead of its own
memory. So GC = last + 1 holds across restarts and across servers sharing a database
(a simulator that stayed behind would refuse every receipt after another's, and the
receipt queue, which waits for its head, would stop for good).
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
    bp = blueprint(state, name="tra_sandbox")

    @bp.before_request
    def remember() -> None:
        with state.lock:
            if state.certificate is None:
                state.certificate = vfd.signing_key(settings).certificate
            _catch_up(state, d["efd_serial"])

    bp.tra_state = state  # type: ignore[attr-defined]  # for tests that inject faults
    return bp


def _catch_up(state: TraState, efd_serial: str) -> None:
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
    if last is not None and last.gc > state.last_gc:
        z = last.znum
        state.last_gc, state.last_dc, state.last_day = last.gc, last.dc, f"{z[:4]}-{z[4:6]}-{z[6:]}"
