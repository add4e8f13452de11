"""/v1/topups, the providers' /v1/callbacks/<provider>, and /v1/review-items."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import ANYONE, STAFF, TENANT, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.errors import NotFound
from billing.paypage.tokens import pay_url
from billing.runtime import current
from billing.topups import inbox, refunds, reviews, service
from billing.topups.gateways import CALLBACK_ALIASES, CARD, MOBILE_MONEY
from billing.topups.models import ReviewItem
from billing.topups.schemas import (
    RefundCreateSchema,
    RefundSchema,
    ReviewItemSchema,
    ReviewListArgs,
    ReviewResolveSchema,
    TopupCreateSchema,
    TopupListArgs,
    TopupPageSchema,
    TopupSchema,
)
from billing.web.api import Blueprint
from billing.web.client_address import client_address, networks
from billing.web.idempotency import idempotent
from billing.web.session import request_session
from providers.callback_path import PATH_DIGEST_HEADER, path_digest

blp = Blueprint("topups", __name__, url_prefix="/v1", description="Top-ups")


@finds("topup_id")
def _find_topup(session: Session, topup_id: str, who: Principal) -> object:
    """A tenant key finds only its own top-ups; staff find any."""
    return service.get_topup(session, topup_id, who.tenant_id)


@finds("item_id")
def _find_review_item(session: Session, item_id: str, who: Principal) -> object:
    """Review items are staff work: no tenant key finds one."""
    item = session.get(ReviewItem, item_id) if who.is_staff else None
    if item is None:
        raise NotFound(f"review item {item_id} not found")
    return item


@blp.route("/topups")
class Topups(MethodView):
    @idempotent
    @requires(*TENANT)
    @blp.arguments(TopupCreateSchema)
    @blp.response(202, TopupSchema)
    def post(self, data: dict):
        """Ask the payer's wallet for money; poll the top-up or wait for the event.
        A card top-up answers its PaymentIntent's `client_secret` (for Stripe.js); every
        top-up its hosted payment page, `pay_url`."""
        runtime = current()
        topup = service.request_topup(
            request_session(),
            runtime.gateways,
            principal().tenant_id,
            service.TopupRequest(**data),
        )
        topup.pay_url = pay_url(runtime.settings.public_url, runtime.settings.secret_key, topup.id)
        return topup

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
            request_session(), current().gateways, topup_id, data["amount"], data["reason"],
            actor=principal().actor,
        )  # fmt: skip


@blp.route("/topups/<topup_id>/refunds")
class TopupRefunds(MethodView):
    @requires(*ANYONE)
    @blp.response(200, RefundSchema(many=True))
    def get(self, topup_id: str):
        """The top-up's refunds, oldest first; another tenant's answers 404."""
        return refunds.list_refunds(request_session(), topup_id, principal().tenant_id)


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
CALLBACK_RESPONSES["404"] = {
    "description": "a provider not enabled here (stripe without card settings)",
    "content": {"application/problem+json": {"schema": {}}},
}
# A closed set, so the document can say it: each operator, and the aggregator's own name.
CALLBACK_PROVIDERS = ",".join(sorted({*MOBILE_MONEY, *CALLBACK_ALIASES}))


@blp.route(f"/callbacks/<any({CALLBACK_PROVIDERS}):provider>", methods=["POST"])
@blp.route(f"/callbacks/<any({CALLBACK_PROVIDERS}):provider>/<path_token>", methods=["POST"])
@blp.doc(security=[], responses=CALLBACK_RESPONSES)
def callback(provider: str, path_token: str | None = None) -> Response:
    """A provider's callback, in its own format; answered in the format it expects.

    The secret-path form is for providers proven only by where they post (Tigo Pesa)."""
    runtime = current()
    if provider == "stripe" and CARD not in runtime.gateways.enabled:
        raise NotFound("card payments are not enabled here")
    headers = {k: v for k, v in request.headers.items() if k.lower() != _PATH_DIGEST}
    if path_token is not None:  # only its digest goes on, and into the stored evidence
        headers[PATH_DIGEST_HEADER] = path_digest(path_token)
    ack = inbox.receive(
        runtime,
        provider,
        headers,
        request.get_data(cache=False),
        client_address(
            request.remote_addr,
            ",".join(request.headers.getlist("X-Forwarded-For")) or None,
            networks(runtime.settings.trusted_proxies),
        ),
    )
    return Response(ack.body, status=ack.status_code, content_type=ack.content_type)


_PATH_DIGEST = PATH_DIGEST_HEADER.lower()


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
        return reviews.resolve_item(
            request_session(), item_id, data["resolution"], actor=principal().actor
        )
