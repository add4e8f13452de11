"""Saved cards and auto-recharge on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.web.fields import Instant


class CardSetupSchema(Schema):
    customer_id = fields.String(metadata={"description": "the tenant's Stripe customer"})
    setup_intent_id = fields.String()
    client_secret = fields.String(
        metadata={"description": "for Stripe.js confirmCardSetup, in the browser"}
    )
    publishable_key = fields.String()


class SavedCardSchema(Schema):
    tenant_id = fields.String()
    customer_id = fields.String()
    brand = fields.String(allow_none=True)
    last4 = fields.String(allow_none=True, metadata={"description": "all Malipo knows of it"})
    saved = fields.Method("_saved", metadata={"description": "a card is set up"})
    currency = fields.String()
    threshold = fields.Integer(attribute="threshold_minor", allow_none=True)
    amount = fields.Integer(attribute="recharge_minor", allow_none=True)
    enabled = fields.Boolean()
    pending_topup_id = fields.String(allow_none=True)
    last_failure = fields.String(
        allow_none=True,
        metadata={"description": "why the last auto-recharge failed; it waits for the tenant"},
    )
    updated_at = Instant()

    def _saved(self, card) -> bool:
        return card.payment_method_id is not None


class AutoRechargeSchema(Schema):
    threshold = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=99_999_999),
        metadata={"description": "minor units: recharge when the wallet falls below it"},
    )
    amount = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=99_999_999),
        metadata={"description": "minor units charged to the saved card each time"},
    )
    enabled = fields.Boolean(load_default=True)
