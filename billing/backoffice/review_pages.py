"""Finance's and admins' home and the review queue: money facts that need a person, with
their evidence (the top-up, the callback as received) and the resolve action, as
GET/POST /v1/review-items; each resolution leaves an audit event."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import func, select

from billing.audit.service import record
from billing.auth.access import principal, requires
from billing.auth.models import Role
from billing.backoffice.blueprint import STAFF, bp
from billing.core.errors import InvalidInput
from billing.invoicing.models import Invoice
from billing.topups import reviews
from billing.topups.models import CallbackDelivery, ReviewItem, ReviewStatus, Topup
from billing.web.session import request_session


@bp.get("/")
@requires(*STAFF)
def home():
    session = request_session()
    open_items = session.execute(
        select(func.count()).where(ReviewItem.status == ReviewStatus.OPEN)
    ).scalar_one()
    drafts = session.execute(select(func.count()).where(Invoice.status == "draft")).scalar_one()
    return render_template("office/home.html", open_items=open_items, drafts=drafts)


@bp.get("/reviews", endpoint="reviews")
@requires(*STAFF)
def reviews_page():
    status = request.args.get("status", "open")
    items = reviews.list_items(
        request_session(),
        status=ReviewStatus(status) if status in ("open", "resolved") else None,
        kind=request.args.get("kind") or None,
        limit=200,
    )
    return render_template("office/reviews.html", items=items, status=status)


@bp.get("/reviews/<item_id>")
@requires(*STAFF)
def review_item(item_id: str):
    session = request_session()
    item = session.get(ReviewItem, item_id)
    topup = session.get(Topup, item.topup_id) if item.topup_id else None
    callback = session.get(CallbackDelivery, item.inbox_id) if item.inbox_id else None
    return render_template("office/review_item.html", item=item, topup=topup, callback=callback)


@bp.post("/reviews/<item_id>/resolve")
@requires(Role.ADMIN, Role.FINANCE)
def resolve_review(item_id: str):
    resolution = request.form.get("resolution", "").strip()
    if not 1 <= len(resolution) <= 500:
        raise InvalidInput.on("resolution", "say what was done (1 to 500 characters)")
    session = request_session()
    item = reviews.resolve_item(session, item_id, resolution)
    record(
        session,
        actor=principal().actor,
        action="review_item.resolved",
        subject_type="review_item",
        subject_id=item.id,
        tenant_id=item.tenant_id,
        detail={"resolution": resolution},
    )
    return redirect(url_for("office.review_item", item_id=item_id), code=303)
