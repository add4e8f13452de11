"""The wallet and its statement on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields

from billing.web.fields import Instant
from billing.web.pagination import PageArgs


class TenantArgs(Schema):
    tenant_id = fields.String(
        load_default=None, metadata={"description": "staff only: the tenant to look at"}
    )


class WalletSchema(Schema):
    tenant_id = fields.String()
    currency = fields.String()
    balance = fields.Integer(metadata={"description": "posted balance, minor units"})
    reserved = fields.Integer(metadata={"description": "held for calls in progress"})
    available = fields.Integer(metadata={"description": "balance - reserved"})


class StatementArgs(TenantArgs, PageArgs):
    pass


class EntrySchema(Schema):
    id = fields.String(attribute="entry_id")
    transaction_id = fields.String()
    kind = fields.String()
    description = fields.String()
    reference = fields.String(allow_none=True)
    amount = fields.Integer(attribute="amount_minor")
    balance_after = fields.Integer(attribute="balance_after_minor")
    currency = fields.String()
    created_at = Instant()


class StatementSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema))
    next_cursor = fields.String(allow_none=True)
