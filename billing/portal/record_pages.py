"""Statement (filters, CSV), usage explorer (period, service, destination; each record's
rating breakdown), invoices and receipts (PDF): read through the API's own queries."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

from flask import Response, render_template, request, url_for
from sqlalchemy.orm import Session

from billing.auth.access import TENANT, finds, principal, requires
from billing.auth.principal import Principal
from billing.core.errors import NotFound
from billing.invoicing import service as invoices
from billing.invoicing.listing import InvoiceFilter, list_invoices
from billing.ledger.balances import StatementLine, statement
from billing.ledger.postings import WALLET
from billing.portal.blueprint import PORTAL_SLOTS, bp
from billing.tenants.service import get_tenant
from billing.usage.models import UsageRecord
from billing.usage.queries import UsageFilter, list_usage, totals
from billing.web.session import request_session

PAGE = 50
SERVICES = ("voice", "sms", "whatsapp")


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _statement_lines(session: Session, tenant_id: str, currency: str) -> Iterator[StatementLine]:
    """Every wallet entry matching the filters, newest first, by the API's statement query."""
    since, until = _day("from"), _day("to")
    direction = request.args.get("direction", "")
    before = None
    while True:
        lines = statement(session, tenant_id, WALLET, currency, before_version=before, limit=200)
        for line in lines:
            day = line.created_at.date()
            if until and day > until:
                continue
            if since and day < since:
                return
            if direction == "in" and line.amount_minor < 0:
                continue
            if direction == "out" and line.amount_minor > 0:
                continue
            yield line
        if len(lines) < 200:
            return
        before = lines[-1].account_version


@bp.get("/statement", endpoint="statement")
@requires(*TENANT)
def statement_page():
    session = request_session()
    tenant = get_tenant(session, principal().tenant_id)
    lines = _statement_lines(session, tenant.id, tenant.currency)
    if request.args.get("format") == "csv":
        return _csv(lines)
    shown = [line for _, line in zip(range(PAGE * 4), lines, strict=False)]
    return render_template(
        "portal/statement.html",
        tenant=tenant,
        lines=shown,
        args=request.args,
        actions=PORTAL_SLOTS["charge_actions"],
    )


def _csv(lines: Iterator[StatementLine]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "created_at",
            "kind",
            "description",
            "reference",
            "amount_minor",
            "balance_after_minor",
            "currency",
        ]
    )
    for line in lines:
        writer.writerow(
            [
                line.created_at.isoformat(),
                line.kind,
                _cell(line.description),
                _cell(line.reference or ""),
                line.amount_minor,
                line.balance_after_minor,
                line.currency,
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="statement.csv"'},
    )


def _cell(text: str) -> str:
    """No spreadsheet formula from a description (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@finds("usage_record_id")
def _find_usage(session: Session, record_id: str, who: Principal) -> UsageRecord:
    """A tenant finds only its own usage records; staff find any."""
    record = session.get(UsageRecord, int(record_id)) if record_id.isdigit() else None
    if record is None or (who.tenant_id is not None and record.tenant_id != who.tenant_id):
        raise NotFound(f"usage record {record_id} not found")
    return record


@bp.get("/usage")
@requires(*TENANT)
def usage():
    session = request_session()
    service = request.args.get("service", "")
    where = UsageFilter(
        tenant_id=principal().tenant_id,
        start=_day("from"),
        end=_day("to"),
        service=service if service in SERVICES else None,
        destination=(request.args.get("destination", "").strip()[:40] or None),
    )
    before = request.args.get("before", "")
    records = list_usage(
        session, where, before_id=int(before) if before.isdigit() else None, limit=PAGE + 1
    )
    older = None
    if len(records) > PAGE:
        kept = {k: v for k, v in request.args.items() if k != "before"}
        older = url_for("portal.usage", before=records[PAGE - 1].id, **kept)
    return render_template(
        "portal/usage.html",
        records=records[:PAGE],
        older=older,
        summary=totals(session, where),
        args=request.args,
        services=SERVICES,
        actions=PORTAL_SLOTS["charge_actions"],
    )


@bp.get("/usage/<usage_record_id>")
@requires(*TENANT)
def usage_record(usage_record_id: str):
    record = _find_usage(request_session(), usage_record_id, principal())
    return render_template(
        "portal/usage_record.html", record=record, actions=PORTAL_SLOTS["charge_actions"]
    )


@bp.get("/invoices", endpoint="invoices")
@requires(*TENANT)
def invoices_page():
    rows, _next = list_invoices(
        request_session(),
        InvoiceFilter(tenant_id=principal().tenant_id, final_only=True),
        before=None,
        limit=100,
    )
    return render_template(
        "portal/invoices.html", invoices=rows, actions=PORTAL_SLOTS["charge_actions"]
    )


@bp.get("/invoices/<invoice_id>/pdf")
@requires(*TENANT)
def invoice_pdf(invoice_id: str):
    """The same PDF as GET /v1/invoices/{id}/pdf, as a download."""
    invoice = invoices.get_invoice(request_session(), invoice_id, principal().tenant_id)
    if invoice.pdf is None:
        raise NotFound(f"the PDF of {invoice_id} is not ready yet")
    return Response(
        invoice.pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{invoice.number_text}.pdf"'},
    )
