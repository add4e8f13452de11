"""/v1/topups, the providers' /v1/callbacks/<provider>, and /v1/review-items."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from billing.auth.models import Role
from billing.runtime import current
from billing.topups import inbox, refunds, reviews, service
from billing.topups.gateways import CALLBACK_ALIASES, MOBILE_MONEY
from billing.topups.schemas import (
    RefundCreateSchema,
    ReviewItemSchema,
    ReviewListArgs,
    ReviewResolveSchema,
    TopupCreateSchema,
    TopupListArgs,
    TopupPageSchema,
    TopupSchema,
)
from billing.web.access import ANYONE, STAFF, TENANT, principal, requires
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("topups", __name__, url_prefix="/v1", description="Top-ups")


@blp.route("/topups")
class Topups(MethodView):
    @idempotent
    @requires(*TENANT)
    @blp.arguments(TopupCreateSchema)
    @blp.response(202, TopupSchema)
    def post(self, data: dict):
        """Ask the payer's wallet for money; poll the top-up or wait for the event."""
        return service.request_topup(
            request_session(),
            current().gateways,
            principal().tenant_id,
            service.TopupRequest(**data),
        )

    @requires(*ANYONE)
    @blp.arguments(TopupListArgs, location="query")
    @blp.response(200, TopupPageSchema)
    def get(self, args: dict):
        """Top-ups, newest first; staff may filter by tenant_id."""
        page = service.list_topups(
            request_session(),
            tenant_id=_scope(args["tenant_id"]),
            status=args["status"],
            before=args["cursor"],
            limit=args["limit"] + 1,
        )
        more = len(page) > args["limit"]
        page = page[: args["limit"]]
        return {"items": page, "next_cursor": page[-1].id if more else None}


def _scope(requested: str | None) -> str | None:
    """Tenants see their own; staff see every tenant's, or one when they name it."""
    who = principal()
    if who.is_staff and requested is None:
        return None
    return who.tenant_for(requested)


@blp.route("/topups/<topup_id>")
class TopupById(MethodView):
    @requires(*ANYONE)
    @blp.response(200, TopupSchema)
    def get(self, topup_id: str):
        """One top-up; another tenant's answers 404."""
        return service.get_topup(request_session(), topup_id, principal().tenant_id)


@blp.route("/topups/<topup_id>/refund")
class RefundTopup(MethodView):
    @idempotent
    @requires(Role.ADMIN)
    @blp.arguments(RefundCreateSchema)
    @blp.response(202, TopupSchema)
    def post(self, data: dict, topup_id: str):
        """Give a credited top-up back through its provider; the wallet is debited at once."""
        return refunds.request_refund(
            request_session(), current().gateways, topup_id, data["amount"], data["reason"]
        )


# Answered in the provider's own format (JSON), whatever the outcome: 400 refused, 503 retry.
CALLBACK_RESPONSES = {
    str(status): {"description": why, "content": {"application/json": {"schema": {}}}}
    for status, why in (
        (200, "stored; the provider's acknowledgement"),
        (400, "refused (unverified or malformed); the provider's refusal"),
        (403, "from outside the provider's networks"),
        (503, "not stored; the provider retries"),
    )
}
# A closed set, so the document can say it: each operator, and the aggregator's own name.
CALLBACK_PROVIDERS = ",".join(sorted({*MOBILE_MONEY, *CALLBACK_ALIASES}))


@blp.route(f"/callbacks/<any({CALLBACK_PROVIDERS}):provider>", methods=["POST"])
@blp.doc(security=[], responses=CALLBACK_RESPONSES)
def callback(provider: str) -> Response:
    """A provider's callback, in its own format; answered in the format it expects."""
    ack = inbox.receive(
        current(),
        provider,
        dict(request.headers),
        request.get_data(cache=False),
        request.remote_addr,
    )
    return Response(ack.body, status=ack.status_code, content_type=ack.content_type)


@blp.route("/review-items")
class ReviewItems(MethodView):
    @requires(*STAFF)
    @blp.arguments(ReviewListArgs, location="query")
    @blp.response(200, ReviewItemSchema(many=True))
    def get(self, args: dict):
        """Money facts that need a person: mismatches, unknown references, late successes."""
        return reviews.list_items(request_session(), **args)


@blp.route("/review-items/<item_id>/resolve")
class ResolveReviewItem(MethodView):
    @requires(Role.ADMIN, Role.FINANCE)
    @blp.arguments(ReviewResolveSchema)
    @blp.response(200, ReviewItemSchema)
    def post(self, data: dict, item_id: str):
        """Close an item with what was done about it."""
        return reviews.resolve_item(request_session(), item_id, data["resolution"])
