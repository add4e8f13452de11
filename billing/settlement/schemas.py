"""Reconciliations on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.settlement.formats import FORMATS
from billing.settlement.models import Outcome
from billing.web.fields import Day, Instant
from billing.web.pagination import PageArgs

OUTCOMES = [outcome.value for outcome in Outcome]


class UploadArgs(Schema):
    provider = fields.String(
        required=True,
        validate=validate.OneOf(FORMATS),
        metadata={"description": "the statement's format: the operator's, or `selcom` for the"
                  " aggregator's report (HaloPesa, T-Pesa, Ezypesa)"},
    )  # fmt: skip


class SettlementStatementSchema(Schema):
    id = fields.String()
    provider = fields.String()
    filename = fields.String()
    sha256 = fields.String()
    period_start = Instant(allow_none=True)
    period_end = Instant(allow_none=True)
    lines = fields.Integer(attribute="line_count")
    totals = fields.Dict(
        metadata={"description": "`outcomes`: lines per outcome; `settled`: per currency,"
                  " gross, fees and paid_to_bank in minor units"},
    )  # fmt: skip
    imported_by = fields.String()
    created_at = Instant()
    reimported = fields.Boolean(
        dump_default=False,
        metadata={"description": "true: this file was imported before; nothing changed"},
    )


class StatementListArgs(Schema):
    provider = fields.String(load_default=None, validate=validate.OneOf(FORMATS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class SettlementLineSchema(Schema):
    id = fields.String()
    line_no = fields.Integer(allow_none=True)
    kind = fields.String()
    provider = fields.String()
    provider_txn_id = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    msisdn = fields.String(allow_none=True)
    amount = fields.Integer(attribute="amount_minor")
    fee = fields.Integer(attribute="fee_minor")
    currency = fields.String()
    occurred_at = Instant(allow_none=True)
    day = fields.String()
    outcome = fields.String(metadata={"enum": OUTCOMES})
    topup_id = fields.String(allow_none=True)
    tenant_id = fields.String(allow_none=True)
    expected_amount = fields.Integer(attribute="expected_amount_minor", allow_none=True)
    expected_currency = fields.String(allow_none=True)
    review_item_id = fields.String(allow_none=True)
    ledger_transaction_id = fields.String(allow_none=True)


class LineListArgs(PageArgs):
    outcome = fields.String(load_default=None, validate=validate.OneOf(OUTCOMES))


class SettlementLinePageSchema(Schema):
    items = fields.List(fields.Nested(SettlementLineSchema))
    next_cursor = fields.String(allow_none=True)


class SummaryArgs(Schema):
    day = Day(load_default=None, metadata={"description": "the statement day (East Africa Time)"})
    provider = fields.String(load_default=None, validate=validate.Length(min=1, max=20))


class SettlementDaySchema(Schema):
    day = fields.String()
    provider = fields.String()
    currency = fields.String()
    lines = fields.Integer()
    matched = fields.Integer()
    exceptions = fields.Dict(keys=fields.String(), values=fields.Integer())
    gross = fields.Integer(attribute="gross_minor")
    fees = fields.Integer(attribute="fee_minor")
    net = fields.Integer(attribute="net_minor")
    paid_to_bank = fields.Integer(attribute="paid_to_bank_minor")
    unsettled = fields.Integer(attribute="unsettled_minor")


class CreditAfterReviewSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=400))
