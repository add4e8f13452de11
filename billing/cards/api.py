"""/v1/saved-card: a tenant's saved card and its auto-recharge rule."""

from __future__ import annotations

from flask.views import MethodView

from billing.auth.access import TENANT, principal, requires
from billing.cards import saved
from billing.cards.schemas import AutoRechargeSchema, CardSetupSchema, SavedCardSchema
from billing.runtime import current
from billing.web.api import Blueprint
from billing.web.session import request_session

blp = Blueprint("cards", __name__, url_prefix="/v1/saved-card", description="Saved cards")


@blp.route("")
class SavedCard(MethodView):
    @requires(*TENANT)
    @blp.response(201, CardSetupSchema)
    def post(self):
        """Start saving a card: a SetupIntent for the browser to confirm with Stripe.js."""
        return saved.start_setup(request_session(), current().gateways, principal().tenant_id)

    @requires(*TENANT)
    @blp.response(200, SavedCardSchema)
    def get(self):
        """The saved card as Stripe shows it (brand, last four), and the auto-recharge rule."""
        return saved.get_saved(request_session(), current().gateways, principal().tenant_id)


@blp.route("/auto-recharge")
class AutoRecharge(MethodView):
    @requires(*TENANT)
    @blp.arguments(AutoRechargeSchema)
    @blp.response(200, SavedCardSchema)
    def put(self, data: dict):
        """Recharge `amount` from the saved card whenever the wallet falls below
        `threshold`; once per crossing, never while one is pending."""
        return saved.set_auto_recharge(
            request_session(), current().gateways, principal().tenant_id, **data
        )
