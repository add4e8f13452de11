"""Stripe payout reconciliations on the wire."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from billing.settlement.payouts.models import PayoutOutcome
from billing.web.fields import Instant

OUTCOMES = [outcome.value for outcome in PayoutOutcome]


class PayoutRangeSchema(Schema):
    since = Instant(required=True, metadata={"description": "payouts created from (inclusive)"})
    until = Instant(required=True, metadata={"description": "… up to (exclusive)"})

    @validates_schema
    def _ordered(self, data: dict, **_: object) -> None:
        if data["until"] <= data["since"]:
            raise ValidationError("must be after since", "until")


class PayoutListArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PayoutLineSchema(Schema):
    id = fields.String()
    balance_transaction_id = fields.String(allow_none=True)
    kind = fields.String(metadata={"enum": ["charge", "refund", "dispute", "fee", "payout",
                                            "other"]})  # fmt: skip
    source_id = fields.String(allow_none=True)
    occurred_at = Instant(allow_none=True)
    gross = fields.Integer(attribute="gross_minor")
    fee = fields.Integer(attribute="fee_minor")
    net = fields.Integer(attribute="net_minor")
    currency = fields.String()
    outcome = fields.String(metadata={"enum": OUTCOMES})
    topup_id = fields.String(allow_none=True)
    tenant_id = fields.String(allow_none=True)
    ledger_transaction_id = fields.String(allow_none=True)
    fee_transaction_id = fields.String(allow_none=True)
    expected_gross = fields.Integer(attribute="expected_gross_minor", allow_none=True)
    expected_fee = fields.Integer(attribute="expected_fee_minor", allow_none=True)
    note = fields.String(allow_none=True)
    review_item_id = fields.String(allow_none=True)


class StripePayoutSchema(Schema):
    id = fields.String()
    currency = fields.String()
    amount = fields.Integer(attribute="amount_minor")
    status = fields.String()
    automatic = fields.Boolean()
    created_at = Instant()
    arrival_at = Instant()
    totals = fields.Dict(
        metadata={"description": "minor units: gross, fees, refunds, disputes, other,"
                  " computed (gross - fees - refunds - disputes + other), payout, difference,"
                  " reconciles; lines; outcomes (lines per outcome)"},
    )  # fmt: skip
    reconciled_by = fields.String()
    reconciled_at = Instant()
    reimported = fields.Boolean(
        dump_default=False,
        metadata={"description": "true: this payout was reconciled before; nothing changed"},
    )


class StripePayoutDetailSchema(StripePayoutSchema):
    lines = fields.List(fields.Nested(PayoutLineSchema))
