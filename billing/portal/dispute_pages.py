"""Disputes in the portal: the tenant's list, one dispute with the comments it may read and
its resolution, a reply, and "Dispute this charge" from a usage record, a top-up's
statement line or an invoice. Every action is the disputes service function the API
calls, in the tenant's scope: it tells the tenant of a change exactly as the API does."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, timedelta

from flask import Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from billing.auth.access import TENANT, principal, requires
from billing.core.clock import utcnow
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.disputes import attachments, service, states
from billing.disputes.models import Dispute, DisputeAttachment, SubjectType
from billing.disputes.schemas import CommentCreateSchema, DisputeCreateSchema
from billing.pages.forms import Errors, errors_of, load, minor_units
from billing.portal import dispute_subjects
from billing.portal.blueprint import PORTAL_SLOTS, bp
from billing.runtime import current
from billing.tenants.service import get_tenant
from billing.web.session import request_session

PAGE = 50
SUBJECT_ID = re.compile(r"[0-9A-Za-z_-]{1,60}")
ONCE = re.compile(r"[0-9A-Za-z_-]{16,43}")
REASON_MAX = DisputeCreateSchema().fields["reason"].validators[0].max  # type: ignore[attr-defined]
BODY_MAX = CommentCreateSchema().fields["body"].validators[0].max  # type: ignore[attr-defined]
OUTCOMES = {
    "credit": _l("Credited to your wallet"),
    "rerate": _l("Usage priced again"),
    "credit_note": _l("Credit note issued"),
    "refund": _l("Refunded"),
    "rejected": _l("Rejected"),
}

PORTAL_SLOTS["charge_actions"].append(("portal.disputes_open", _l("Dispute this charge")))


@bp.get("/disputes")
@requires(*TENANT)
def disputes():
    """The tenant's disputes, newest first, a page at a time."""
    session = request_session()
    before = request.args.get("before") or None
    if before is not None and not _is_dispute_id(before):
        before = None
    rows = service.list_disputes(
        session,
        tenant_id=principal().tenant_id,
        status=None,
        owner_id=None,
        before=before,
        limit=PAGE + 1,
    )
    page = rows[:PAGE]
    older = url_for("portal.disputes", before=page[-1].id) if len(rows) > PAGE else None
    return render_template(
        "portal/disputes.html",
        disputes=page,
        subjects=dispute_subjects.labels_of(session, page),
        sla={d.id: _sla(d) for d in page},
        older=older,
    )


@bp.route("/disputes/new", methods=["GET", "POST"])
@requires(*TENANT)
def disputes_open():
    """The form, pre-filled with the charge it was opened from; then `open_dispute`."""
    who = principal()
    session = request_session()
    source = request.form if request.method == "POST" else request.args
    form = {
        name: source.get(name, "").strip()
        for name in ("subject_type", "subject_id", "line", "period_start", "period_end")
    }
    form |= {"reason": source.get("reason", ""), "amount": source.get("amount", "").strip()}
    form["once"] = source.get("once", "") or secrets.token_urlsafe(16)
    kind = _kind(form["subject_type"])
    if form["subject_id"] and not SUBJECT_ID.fullmatch(form["subject_id"]):
        raise NotFound("no charge has this id")  # plain ASCII, as every id is
    line = int(form["line"]) if form["line"].isascii() and form["line"].isdigit() else None
    charge = None
    if kind is not SubjectType.USAGE_PERIOD:  # a period is checked when it is opened
        charge = dispute_subjects.charge(
            session, who.tenant_id, kind, form["subject_id"] or None, line=line
        )  # the tenant's own charge, or 404 as the API answers
    errors: Errors = {}
    if request.method == "POST":
        opened, errors = _open(form, kind, line)
        if opened is not None:
            return redirect(url_for("portal.disputes_show", dispute_id=opened), code=303)
    number = getattr(charge.row, "number_text", None) if charge else None
    return render_template(
        "portal/dispute_new.html",
        form=form,
        kind=kind,
        charge=charge,
        label=dispute_subjects.label(kind, form["subject_id"], line=line, number=number),
        currency=get_tenant(session, who.tenant_id).currency.value,
        errors=errors,
        reason_max=REASON_MAX,
    ), (422 if errors else 200)


def _open(form: dict[str, str], kind: SubjectType, line: int | None) -> tuple[str | None, Errors]:
    """The new dispute's id, or the messages by field: the API's schema, then its service."""
    who = principal()
    session = request_session()
    amount = None
    if form["amount"]:
        currency = get_tenant(session, who.tenant_id).currency.value
        amount, errors = minor_units(form["amount"], currency)
        if errors:
            return None, errors
    data, errors = load(
        DisputeCreateSchema(),
        {
            "subject_type": kind.value,
            "subject_id": form["subject_id"] or None,
            "line": line,
            "period_start": form["period_start"] or None,
            "period_end": _day_after(form["period_end"]) or None,
            "reason": form["reason"],
            "amount": amount,
        },
    )
    if data is None:
        return None, errors
    period = None
    if data["period_start"] is not None and data["period_end"] is not None:
        period = (data["period_start"], data["period_end"])
    try:
        dispute = service.open_dispute(
            session,
            tenant_id=who.tenant_id,
            subject_kind=data["subject_type"].value,
            subject_id=data["subject_id"],
            message=data["reason"],
            opened_by=who.actor,
            priority=data["priority"].value,
            line=data["line"],
            period=period,
            amount_minor=data["amount"],
            source_ref=_once(who.tenant_id, form["once"]),
            attachment_dir=current().settings.dispute_attachment_dir,
        )
    except InvalidInput as error:
        return None, errors_of(error)
    return dispute.id, {}


@bp.get("/disputes/<dispute_id>")
@requires(*TENANT)
def disputes_show(dispute_id: str):
    return _detail(dispute_id, {}, "", 200)


@bp.post("/disputes/<dispute_id>/comments")
@requires(*TENANT)
def disputes_reply(dispute_id: str):
    """A tenant's reply: always visible to it, through the API's `add_comment`."""
    who = principal()
    body = request.form.get("body", "")
    data, errors = load(CommentCreateSchema(), {"body": body})
    if errors:
        return _detail(dispute_id, errors, body, 422)
    try:
        comment = service.add_comment(
            request_session(),
            dispute_id,
            author=who.actor,
            role=who.role.value,
            is_staff=False,
            tenant_id=who.tenant_id,
            body=data["body"],
            visibility=data["visibility"].value,
        )
    except InvalidInput as error:
        return _detail(dispute_id, errors_of(error), body, 422)
    except Conflict as error:
        return _detail(dispute_id, {"_form": [error.detail]}, body, 409)
    return redirect(
        url_for("portal.disputes_show", dispute_id=dispute_id, _anchor=f"c-{comment.id}"),
        code=303,
    )


@bp.get("/disputes/<dispute_id>/attachments/<attachment_id>")
@requires(*TENANT)
def disputes_attachment(dispute_id: str, attachment_id: str) -> Response:
    """A file of the dispute, as GET /v1/disputes/{id}/attachments/{id} sends it."""
    attachment = request_session().get(DisputeAttachment, attachment_id)
    if attachment is None or attachment.dispute_id != dispute_id:
        raise NotFound(f"attachment {attachment_id} not found")
    return Response(
        attachments.read(attachment),
        content_type=attachment.content_type,
        headers={"Content-Disposition": f'attachment; filename="{attachment.id}"'},
    )


def _detail(dispute_id: str, errors: Errors, body: str, status: int):
    session = request_session()
    dispute = service.get_dispute(session, dispute_id, principal().tenant_id)
    [subject] = dispute_subjects.labels_of(session, [dispute]).values()
    return render_template(
        "portal/dispute.html",
        dispute=dispute,
        subject=subject,
        comments=service.visible_comments(dispute, is_staff=False),
        closed=dispute.status.value in states.CLOSED,
        sla=_sla(dispute),
        outcome=OUTCOMES.get(dispute.resolution.outcome) if dispute.resolution else None,
        errors=errors,
        body=body,
        body_max=BODY_MAX,
    ), status


def _sla(dispute: Dispute) -> str:
    return states.sla_state(dispute.status.value, dispute.due_at, dispute.closed_at, utcnow())


def _kind(text: str) -> SubjectType:
    try:
        return SubjectType(text)
    except ValueError:
        raise InvalidInput.on("subject_type", "open a dispute from a charge") from None


def _day_after(last_day: str) -> str:
    """The form asks for the last day; the API's `period_end` is the day after it."""
    try:
        return (date.fromisoformat(last_day) + timedelta(days=1)).isoformat()
    except ValueError:
        return last_day


def _once(tenant_id: str, token: str) -> str | None:
    """The form's own mark: sent twice (a double click, a resend), it opens one dispute,
    as the API's Idempotency-Key does; `open_dispute` returns the first for the same
    origin. Hashed with the tenant, so no two tenants' marks can meet."""
    if not ONCE.fullmatch(token):
        return None
    return "portal:" + hashlib.sha256(f"{tenant_id}:{token}".encode()).hexdigest()[:40]


def _is_dispute_id(text: str) -> bool:
    return text.startswith("dsp_") and len(text) == 30 and text[4:].isalnum()
