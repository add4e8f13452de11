"""/v1/fiscal/stuck and /v1/invoices/{id}/fiscal-confirmation: receipts TRA holds whose
answer we never recorded, listed for staff and confirmed by an admin (`confirmation`)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from billing.auth.access import STAFF, principal, requires
from billing.auth.models import Role
from billing.invoicing import confirmation
from billing.invoicing.schemas import InvoiceSchema
from billing.runtime import current
from billing.web.api import Blueprint
from billing.web.fields import Instant
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("fiscal", __name__, url_prefix="/v1", description="Fiscal receipts stuck at TRA")


class ConfirmationSchema(Schema):
    verification_code = fields.String(
        required=True,
        validate=validate.Length(min=2, max=200),
        metadata={"description": "what TRA's verification page shows for the receipt: "
                  "RCTVNUM (A1B2C3123), RCTVNUM_HHMMSS, or the page's https link"},
    )  # fmt: skip
    note = fields.String(load_default="", validate=validate.Length(max=500))


class StuckReceiptSchema(Schema):
    invoice_id = fields.String()
    number = fields.String(allow_none=True)
    tenant_id = fields.String()
    efd_serial = fields.String()
    gc = fields.Integer()
    verification_code = fields.String()
    verification_url = fields.String(allow_none=True)
    issued_at = Instant(allow_none=True)
    attempts = fields.Integer()
    last_ack_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    waiting_behind = fields.Integer()


class StuckListSchema(Schema):
    items = fields.List(fields.Nested(StuckReceiptSchema))


@blp.route("/fiscal/stuck")
class Stuck(MethodView):
    @requires(*STAFF)
    @blp.response(200, StuckListSchema)
    def get(self):
        """Each VFD's queue head that TRA was asked for and has not acknowledged, with
        what TRA answered and how many receipts wait behind it."""
        return {"items": confirmation.stuck_receipts(request_session(), current().settings)}


@blp.route("/invoices/<invoice_id>/fiscal-confirmation")
class Confirm(MethodView):
    @idempotent
    @requires(Role.ADMIN)
    @blp.arguments(ConfirmationSchema)
    @blp.response(200, InvoiceSchema)
    def post(self, data: dict, invoice_id: str):
        """Confirm that TRA holds this receipt (checked on TRA's verification page) when
        its answer was lost and TRA refuses the resend: it becomes acknowledged, names
        who confirmed it and when, and the device's queue moves on. Only the queue's
        head, posted at least once, with its own code; a repeat changes nothing."""
        return confirmation.confirm(
            request_session(), invoice_id, data["verification_code"], principal().actor,
            data["note"],
        )  # fmt: skip
