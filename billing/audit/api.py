"""/v1/audit-events: the audit trail, for admins (API.md), newest first, by cursor."""

from __future__ import annotations

from flask.views import MethodView

from billing.audit.schemas import AuditEventArgs, AuditEventPageSchema
from billing.audit.service import AuditFilter, list_events
from billing.auth.access import requires
from billing.auth.models import Role
from billing.web.api import Blueprint
from billing.web.pagination import decode_cursor, encode_cursor
from billing.web.session import request_session

blp = Blueprint("audit", __name__, url_prefix="/v1/audit-events", description="Audit trail")


@blp.route("")
class AuditEvents(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(AuditEventArgs, location="query")
    @blp.response(200, AuditEventPageSchema)
    def get(self, args: dict):
        """Who did what to which object, filtered by tenant, actor, action, object and time."""
        where = AuditFilter(
            tenant_id=args["tenant_id"],
            actor=args["actor"],
            action=args["action"],
            subject_type=args["subject_type"],
            subject_id=args["subject_id"],
            since=args["since"],
            until=args["until"],
        )
        rows = list_events(
            request_session(), where, before_id=decode_cursor(args["cursor"]),
            limit=args["limit"] + 1,
        )  # fmt: skip
        page, more = rows[: args["limit"]], len(rows) > args["limit"]
        return {"items": page, "next_cursor": encode_cursor(page[-1].id) if more else None}
