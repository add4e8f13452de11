"""/v1/disputes: tenants open and follow their own; staff take them on, read the evidence
and resolve them. Another tenant's dispute (or attachment) is 404, never data; a tenant
never reads an internal comment."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import ANYONE, STAFF, TENANT, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.clock import utcnow
from billing.core.errors import InvalidInput, NotFound
from billing.disputes import attachments, evidence, resolutions, service, states
from billing.disputes.models import Dispute, DisputeAttachment
from billing.disputes.schemas import (
    CommentCreateSchema,
    CommentSchema,
    DisputeCreateSchema,
    DisputeListArgs,
    DisputePageSchema,
    DisputeSchema,
    EvidenceSchema,
    FromReviewSchema,
    ResolveSchema,
    TakeOnSchema,
)
from billing.runtime import current
from billing.topups.models import ReviewItem
from billing.topups.reviews import resolve_item
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("disputes", __name__, url_prefix="/v1", description="Disputes")


@finds("dispute_id")
def _find_dispute(session: Session, dispute_id: str, who: Principal) -> object:
    return service.get_dispute(session, dispute_id, who.tenant_id)


@finds("attachment_id")
def _find_attachment(session: Session, attachment_id: str, who: Principal) -> object:
    attachment = session.get(DisputeAttachment, attachment_id)
    dispute = attachment and session.get(Dispute, attachment.dispute_id)
    if dispute is None or not who.can_see_tenant(dispute.tenant_id):
        raise NotFound(f"attachment {attachment_id} not found")
    return attachment


def shown(dispute: Dispute, is_staff: bool) -> dict:
    """The dispute as this caller may see it: a tenant without internal comments."""
    columns = {column.key: getattr(dispute, column.key) for column in Dispute.__table__.columns}
    return columns | {
        "comments": service.visible_comments(dispute, is_staff),
        "attachments": dispute.attachments,
        "resolution": dispute.resolution,
        "sla": states.sla_state(dispute.status.value, dispute.due_at, dispute.closed_at, utcnow()),
    }


@blp.route("/disputes")
class Disputes(MethodView):
    @idempotent
    @requires(*TENANT)
    @blp.arguments(DisputeCreateSchema)
    @blp.response(201, DisputeSchema)
    def post(self, data: dict):
        """Open a dispute on one of the tenant's top-ups, usage records, usage periods,
        invoices or invoice lines, with attachments (PDF, PNG, JPEG, text, CSV)."""
        who = principal()
        period = None
        if data["period_start"] is not None and data["period_end"] is not None:
            period = (data["period_start"], data["period_end"])
        dispute = service.open_dispute(
            request_session(),
            tenant_id=who.tenant_id,
            subject_kind=data["subject_type"].value,
            subject_id=data["subject_id"],
            message=data["reason"],
            opened_by=who.actor,
            priority=data["priority"].value,
            line=data["line"],
            period=period,
            amount_minor=data["amount"],
            uploads=data["attachments"],
            attachment_dir=current().settings.dispute_attachment_dir,
        )
        return shown(dispute, is_staff=False)

    @requires(*ANYONE)
    @blp.arguments(DisputeListArgs, location="query")
    @blp.response(200, DisputePageSchema)
    def get(self, args: dict):
        """Disputes, newest first: a tenant's own; staff all, or one tenant's."""
        who = principal()
        tenant_id = who.tenant_for(args["tenant_id"]) if not who.is_staff else args["tenant_id"]
        rows = service.list_disputes(
            request_session(),
            tenant_id=tenant_id,
            status=args["status"].value if args["status"] else None,
            owner_id=args["owner_id"],
            before=args["cursor"],
            limit=args["limit"] + 1,
        )
        page, more = rows[: args["limit"]], len(rows) > args["limit"]
        return {
            "items": [shown(d, who.is_staff) for d in page],
            "next_cursor": page[-1].id if more else None,
        }


@blp.route("/disputes/<dispute_id>")
class DisputeById(MethodView):
    @requires(*ANYONE)
    @blp.response(200, DisputeSchema)
    def get(self, dispute_id: str):
        """One dispute with its comments (a tenant's: the visible ones) and resolution."""
        who = principal()
        return shown(
            service.get_dispute(request_session(), dispute_id, who.tenant_id), who.is_staff
        )


@blp.route("/disputes/<dispute_id>/assign")
class TakeOn(MethodView):
    @requires(*STAFF)
    @blp.arguments(TakeOnSchema)
    @blp.response(200, DisputeSchema)
    def post(self, data: dict, dispute_id: str):
        """Name the owner (default: the caller) and maybe the priority; open → investigating."""
        dispute = service.take_on(
            request_session(),
            dispute_id,
            actor=principal().actor,
            owner_id=data["owner_id"],
            priority=data["priority"].value if data["priority"] else None,
        )
        return shown(dispute, is_staff=True)


@blp.route("/disputes/<dispute_id>/comments")
class Comments(MethodView):
    @requires(*ANYONE)
    @blp.arguments(CommentCreateSchema)
    @blp.response(201, CommentSchema)
    def post(self, data: dict, dispute_id: str):
        """Add a comment: staff choose `internal` or visible; a tenant's is visible."""
        who = principal()
        return service.add_comment(
            request_session(),
            dispute_id,
            author=who.actor,
            role=who.role.value,
            is_staff=who.is_staff,
            tenant_id=who.tenant_id,
            body=data["body"],
            visibility=data["visibility"].value,
        )


@blp.route("/disputes/<dispute_id>/attachments/<attachment_id>")
@blp.doc(
    responses={
        "200": {
            "description": "the file as uploaded",
            "content": {kind: {"schema": {}} for kind in sorted(attachments.SIGNATURES)},
        }
    }
)
@requires(*ANYONE)
def download(dispute_id: str, attachment_id: str) -> Response:
    """One attachment of the dispute, as uploaded."""
    attachment = request_session().get(DisputeAttachment, attachment_id)
    if attachment.dispute_id != dispute_id:
        raise NotFound(f"attachment {attachment_id} not found")
    return Response(
        attachments.read(attachment),
        content_type=attachment.content_type,
        headers={"Content-Disposition": f'attachment; filename="{attachment.id}"'},
    )


@blp.route("/disputes/<dispute_id>/evidence")
class Evidence(MethodView):
    @requires(*STAFF)
    @blp.response(200, EvidenceSchema)
    def get(self, dispute_id: str):
        """Callbacks and status queries, ledger entries, usage with its rating breakdown,
        invoice lines and the fiscal receipt: what the dispute is about, in one document."""
        session = request_session()
        dispute = service.get_dispute(session, dispute_id, None)
        return evidence.gather(session, current().settings, dispute)


@blp.route("/disputes/<dispute_id>/resolve")
class Resolve(MethodView):
    @idempotent
    @requires(Role.ADMIN)
    @blp.arguments(ResolveSchema)
    @blp.response(200, DisputeSchema)
    def post(self, data: dict, dispute_id: str):
        """Resolve once: credit, rerate, credit_note, refund, or rejected. The same request
        again answers the same; another for a resolved dispute is 409."""
        lines = {line["position"]: line["amount"] for line in data["lines"] or []}
        request = resolutions.ResolveRequest(
            outcome=data["outcome"],
            note=data["note"],
            amount=data["amount"],
            plan_id=data["plan_id"],
            lines=lines or None,
        )
        runtime = current()
        dispute = resolutions.resolve(
            request_session(),
            runtime.settings,
            runtime.gateways,
            dispute_id,
            request,
            actor=principal().actor,
        )
        return shown(dispute, is_staff=True)


@blp.route("/review-items/<item_id>/dispute")
class DisputeFromReview(MethodView):
    @requires(*STAFF)
    @blp.arguments(FromReviewSchema, required=False)  # nothing to say: the default priority
    @blp.response(201, DisputeSchema)
    def post(self, data: dict, item_id: str):
        """Turn a review item about a tenant's top-up into a dispute (once), and close the
        item with it."""
        session = request_session()
        item = session.get(ReviewItem, item_id)
        if item.tenant_id is None or item.topup_id is None:
            raise InvalidInput.on("item_id", "only an item about a tenant's top-up")
        who = principal()
        dispute = service.open_dispute(
            session,
            tenant_id=item.tenant_id,
            subject_kind="topup",
            subject_id=item.topup_id,
            message=f"{item.kind}: {item.summary}",
            opened_by=who.actor,
            priority=data["priority"].value if data["priority"] else "high",
            source="review_item",
            source_ref=item.id,
        )
        resolve_item(session, item.id, f"dispute {dispute.id}", actor=who.actor)
        return shown(dispute, is_staff=True)
