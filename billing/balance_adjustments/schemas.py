"""Balance adjustments on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.balance_adjustments.models import REASON_CODES, AdjustmentStatus, Direction
from billing.web.fields import Instant
from billing.web.pagination import PageArgs


class AdjustmentCreateSchema(Schema):
    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    direction = fields.Enum(Direction, by_value=True, required=True)
    amount = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=10**15),
        metadata={"description": "minor units"},
    )
    currency = fields.String(required=True, validate=validate.OneOf(["TZS", "USD"]))
    reason_code = fields.String(required=True, validate=validate.OneOf(REASON_CODES))
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DecisionSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(min=1, max=500))


class RejectionSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AdjustmentListArgs(PageArgs):
    tenant_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    status = fields.Enum(AdjustmentStatus, by_value=True, load_default=None)
    cursor = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^adj_[0-9A-Z]{26}$", error="not a cursor this API gave out"),
    )


class AdjustmentSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    direction = fields.Enum(Direction, by_value=True)
    amount = fields.Integer(attribute="amount_minor")
    currency = fields.String()
    reason_code = fields.String()
    note = fields.String()
    status = fields.Enum(AdjustmentStatus, by_value=True)
    maker_id = fields.String()
    checker_id = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True)
    expires_at = Instant(allow_none=True, metadata={"description": "pending ones only"})
    decided_at = Instant(allow_none=True)
    ledger_transaction_id = fields.Function(
        lambda a: str(a.ledger_transaction_id) if a.ledger_transaction_id else None,
        allow_none=True,
    )
    created_at = Instant()


class AdjustmentPageSchema(Schema):
    items = fields.List(fields.Nested(AdjustmentSchema))
    next_cursor = fields.String(allow_none=True)
