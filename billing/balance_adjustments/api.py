"""/v1/adjustments: staff credit or debit a wallet; above the threshold a second staff
member approves or rejects (the maker never can: 403)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import STAFF, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.balance_adjustments import service
from billing.balance_adjustments.schemas import (
    AdjustmentCreateSchema,
    AdjustmentListArgs,
    AdjustmentPageSchema,
    AdjustmentSchema,
    DecisionSchema,
    RejectionSchema,
)
from billing.core.errors import NotFound
from billing.runtime import current
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint(
    "adjustments", __name__, url_prefix="/v1/adjustments", description="Balance adjustments"
)


@finds("adjustment_id")
def _find_adjustment(session: Session, adjustment_id: str, who: Principal) -> object:
    """Staff work: no tenant key finds one."""
    if not who.is_staff:
        raise NotFound(f"adjustment {adjustment_id} not found")
    return service.get(session, adjustment_id)


@blp.route("")
class Adjustments(MethodView):
    @idempotent
    @requires(Role.ADMIN)
    @blp.arguments(AdjustmentCreateSchema)
    @blp.response(201, AdjustmentSchema)
    def post(self, data: dict):
        """A manual credit or debit with a reason code: applied at once up to the currency's
        threshold, else `pending` for a second staff member until it expires."""
        new = service.NewAdjustment(
            tenant_id=data["tenant_id"],
            direction=data["direction"],
            amount_minor=data["amount"],
            currency=data["currency"],
            reason_code=data["reason_code"],
            note=data["note"],
        )
        return service.create(request_session(), current().settings, new, maker=principal().actor)

    @requires(*STAFF)
    @blp.arguments(AdjustmentListArgs, location="query")
    @blp.response(200, AdjustmentPageSchema)
    def get(self, args: dict):
        """Adjustments, newest first; filter by tenant and status (`pending`: the queue)."""
        rows = service.list_adjustments(
            request_session(),
            tenant_id=args["tenant_id"],
            status=args["status"].value if args["status"] else None,
            before=args["cursor"],
            limit=args["limit"] + 1,
        )
        page, more = rows[: args["limit"]], len(rows) > args["limit"]
        return {"items": page, "next_cursor": page[-1].id if more else None}


@blp.route("/<adjustment_id>")
class AdjustmentById(MethodView):
    @requires(*STAFF)
    @blp.response(200, AdjustmentSchema)
    def get(self, adjustment_id: str):
        return service.get(request_session(), adjustment_id)


@blp.route("/<adjustment_id>/approve")
class Approve(MethodView):
    @requires(*STAFF)
    @blp.arguments(DecisionSchema, required=False)
    @blp.response(200, AdjustmentSchema)
    def post(self, data: dict, adjustment_id: str):
        """The checker posts it; the maker is refused (403), a decided one is 409."""
        return service.approve(
            request_session(), adjustment_id, checker=principal().actor, note=data.get("note")
        )


@blp.route("/<adjustment_id>/reject")
class Reject(MethodView):
    @requires(*STAFF)
    @blp.arguments(RejectionSchema)
    @blp.response(200, AdjustmentSchema)
    def post(self, data: dict, adjustment_id: str):
        """The checker refuses it, saying why; nothing is posted."""
        return service.reject(
            request_session(), adjustment_id, checker=principal().actor, note=data["note"]
        )
