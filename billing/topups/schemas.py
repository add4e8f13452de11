"""Top-ups and review items on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import object_session

from billing.invoicing.models import Invoice
from billing.invoicing.states import FINAL
from billing.topups.models import RefundStatus, ReviewStatus, TopupStatus
from billing.web.fields import Instant

PROVIDERS = ["mpesa", "tigopesa", "airtelmoney", "halopesa", "tpesa", "ezypesa", "card"]


class TopupCreateSchema(Schema):
    amount = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "minor units: TZS 5,000.00 is 500000"},
    )
    currency = fields.String(required=True, validate=validate.OneOf(["TZS", "USD"]))
    msisdn = fields.String(
        load_default=None, metadata={"description": "payer; default: the tenant's"}
    )
    provider = fields.String(
        load_default=None,
        validate=validate.OneOf(PROVIDERS),
        metadata={"description": "default: suggested from the number"},
    )
    method = fields.String(
        load_default=None,
        validate=validate.OneOf(["card", "mobile_money"]),
        metadata={"description": "card: the same as provider card"},
    )


class TopupSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    status = fields.Enum(TopupStatus, by_value=True)
    provider = fields.String()
    msisdn = fields.String()
    amount = fields.Integer(attribute="amount_minor")
    currency = fields.String()
    reference = fields.String(metadata={"description": "the id the provider carries"})
    provider_ref = fields.String(allow_none=True)
    provider_txn_id = fields.String(allow_none=True)
    verification = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        allow_none=True,
        metadata={
            "description": "what proved the credit (by) and whether the provider reported the"
            " amount, currency and payer it was checked against (matched | not_reported)"
        },
    )
    failure_code = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    ledger_transaction_id = fields.String(allow_none=True)
    refund_status = fields.Enum(
        RefundStatus, by_value=True, allow_none=True, metadata={"description": "newest refund's"}
    )
    refund_amount = fields.Integer(attribute="refund_amount_minor", allow_none=True)
    refund_reason = fields.String(allow_none=True)
    refunds = fields.List(fields.Nested(lambda: RefundSchema()))
    receipt_id = fields.Function(
        lambda topup: _receipt(topup)[0],
        metadata={"type": ["string", "null"],
                  "description": "its fiscal receipt (GET /v1/invoices/{id}), once issued"},
    )  # fmt: skip
    receipt_number = fields.Function(
        lambda topup: _receipt(topup)[1],
        metadata={"type": ["string", "null"], "description": "the receipt's number"},
    )
    client_secret = fields.String(
        metadata={
            "description": "card top-ups, in the answer to POST only: the PaymentIntent's"
            " client secret, for Stripe.js"
        }
    )
    pay_url = fields.String(
        metadata={"description": "the hosted payment page for a pending top-up (POST only)"}
    )
    created_at = Instant()
    updated_at = Instant()


def _receipt(topup: object) -> tuple[str | None, str | None]:
    """The fiscal receipt of a top-up (a tenant's own, never a draft's number)."""
    session = object_session(topup)
    if session is None:
        return None, None
    row = session.execute(
        select(Invoice.id, Invoice.number_text, Invoice.status).where(
            Invoice.topup_id == topup.id  # type: ignore[attr-defined]
        )
    ).first()
    if row is None or row.status not in FINAL:
        return None, None
    return row.id, row.number_text


class RefundSchema(Schema):
    """One refund of a top-up; several partial ones where the provider allows."""

    id = fields.String()
    topup_id = fields.String()
    status = fields.Enum(RefundStatus, by_value=True)
    amount = fields.Integer(attribute="amount_minor")
    currency = fields.String()
    reason = fields.String()
    reference = fields.String(metadata={"description": "the id the provider carries"})
    provider_txn_id = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    created_at = Instant()
    updated_at = Instant()


class RefundCreateSchema(Schema):
    amount = fields.Integer(
        load_default=None, strict=True, metadata={"description": "default: the whole top-up"}
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class TopupListArgs(Schema):
    tenant_id = fields.String(load_default=None)
    status = fields.Enum(TopupStatus, by_value=True, load_default=None)
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TopupPageSchema(Schema):
    items = fields.List(fields.Nested(TopupSchema))
    next_cursor = fields.String(allow_none=True)


class ReviewItemSchema(Schema):
    id = fields.String()
    kind = fields.String()
    tenant_id = fields.String(allow_none=True)
    topup_id = fields.String(allow_none=True)
    inbox_id = fields.String(allow_none=True)
    summary = fields.String()
    detail = fields.Dict()
    status = fields.Enum(ReviewStatus, by_value=True)
    created_at = Instant()
    resolved_at = Instant(allow_none=True)
    resolution = fields.String(allow_none=True)


class ReviewListArgs(Schema):
    status = fields.Enum(ReviewStatus, by_value=True, load_default=ReviewStatus.OPEN)
    kind = fields.String(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ReviewResolveSchema(Schema):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=500))
