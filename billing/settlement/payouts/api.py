"""/v1/stripe-payouts: Stripe's payouts pulled, matched to the ledger and reported
(JSON and CSV), for finance; no tenant key finds one."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import STAFF, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.errors import NotFound
from billing.runtime import current
from billing.settlement.payouts import report, service
from billing.settlement.payouts.schemas import (
    PayoutListArgs,
    PayoutRangeSchema,
    StripePayoutDetailSchema,
    StripePayoutSchema,
)
from billing.web.api import Blueprint
from billing.web.session import request_session

blp = Blueprint(
    "stripe_payouts", __name__, url_prefix="/v1", description="Stripe payout reconciliation"
)
FINANCE = (Role.FINANCE, Role.ADMIN)


@finds("payout_id")
def _find_payout(session: Session, payout_id: str, who: Principal) -> object:
    """Payouts are finance's: no tenant key finds one."""
    if not who.is_staff:
        raise NotFound(f"payout {payout_id} not found")
    return service.get_payout(session, payout_id)


@blp.route("/stripe-payouts")
class StripePayouts(MethodView):
    @requires(*FINANCE)
    @blp.arguments(PayoutRangeSchema)
    @blp.response(200, StripePayoutSchema(many=True))
    def post(self, data: dict):
        """Pull Stripe's automatic payouts created in [since, until) and reconcile each
        against the ledger, once: one reconciled before answers `reimported`."""
        done = service.reconcile_range(
            current(), data["since"], data["until"], actor=principal().actor
        )
        for reconciled in done:
            reconciled.payout.reimported = reconciled.reimported  # answered, not stored
        return [reconciled.payout for reconciled in done]

    @requires(*STAFF)
    @blp.arguments(PayoutListArgs, location="query")
    @blp.response(200, StripePayoutSchema(many=True))
    def get(self, args: dict):
        """Reconciled payouts, newest first."""
        return service.list_payouts(request_session(), **args)


@blp.route("/stripe-payouts/<payout_id>")
class StripePayoutById(MethodView):
    @requires(*STAFF)
    @blp.response(200, StripePayoutDetailSchema)
    def get(self, payout_id: str):
        """One payout: its totals and every line (gross, fee, net, ledger transaction,
        outcome)."""
        session = request_session()
        payout = service.get_payout(session, payout_id)
        payout.lines = service.lines_of(session, payout_id)  # answered, not stored
        return payout


@blp.route("/stripe-payouts/<payout_id>/report")
class StripePayoutReport(MethodView):
    @requires(*STAFF)
    @blp.response(200, content_type="text/csv")
    def get(self, payout_id: str):
        """The payout's reconciliation as CSV: every line, then the totals."""
        session = request_session()
        payout = service.get_payout(session, payout_id)
        body = report.as_csv(payout, service.lines_of(session, payout_id))
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="payout-{payout_id}.csv"'},
        )
