"""/v1/reports/aged-receivables and /v1/dunning/runs, for finance and admins."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from billing.auth.access import STAFF, requires
from billing.auth.models import Role
from billing.dunning import aging, service
from billing.runtime import current
from billing.web.api import Blueprint
from billing.web.fields import Day
from billing.web.session import request_session

blp = Blueprint("dunning", __name__, url_prefix="/v1", description="Receivables and dunning")


class AgedArgs(Schema):
    as_of = Day(load_default=None, metadata={"description": "default: today (EAT)"})
    tenant_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    currency = fields.String(load_default=None, validate=validate.OneOf(["TZS", "USD"]))


class AgedRowSchema(Schema):
    tenant_id = fields.String()
    currency = fields.String()
    buckets = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "minor units by age: 0-30, 31-60, 61-90, 90+"},
    )
    total = fields.Integer()
    overdue = fields.Integer(metadata={"description": "of the total, past its due date"})
    invoices = fields.Integer()
    ledger_receivable = fields.Integer(metadata={"description": "the ledger's receivable"})
    matches_ledger = fields.Boolean()


class AgedReportSchema(Schema):
    as_of = Day()
    items = fields.List(fields.Nested(AgedRowSchema))
    totals = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer())
    )


class DunningRunSchema(Schema):
    reminders = fields.List(fields.String(), metadata={"description": "dunning step ids"})
    restricted = fields.List(fields.String(), metadata={"description": "tenant ids"})
    lifted = fields.List(fields.String(), metadata={"description": "tenant ids"})


@blp.route("/reports/aged-receivables")
class AgedReceivables(MethodView):
    @requires(*STAFF)
    @blp.arguments(AgedArgs, location="query")
    @blp.response(200, AgedReportSchema)
    def get(self, args: dict):
        """What each tenant owes by the age of its invoices; the totals equal `receivable`
        in the ledger (each row shows both)."""
        as_of = args["as_of"] or service.today_in_tanzania()
        rows = aging.aged_receivables(request_session(), as_of, args["tenant_id"],
                                      args["currency"])  # fmt: skip
        return {"as_of": as_of, "items": rows, "totals": aging.totals(rows)}


@blp.route("/dunning/runs")
class DunningRuns(MethodView):
    @requires(Role.FINANCE, Role.ADMIN)
    @blp.response(201, DunningRunSchema)
    def post(self):
        """Take the dunning steps due now (the worker does this on its own every few
        minutes): reminders, restrictions past grace, lifting once paid."""
        return service.run(request_session(), current().settings)
