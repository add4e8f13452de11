"""Disputes on the wire. Field names follow API.md: `subject_type`, `subject_id`, `reason`."""

from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from billing.disputes.attachments import MAX_BYTES, MAX_FILES, SIGNATURES, Upload
from billing.disputes.models import DisputeStatus, Priority, SubjectType, Visibility
from billing.disputes.resolutions import OUTCOMES
from billing.web.fields import Day, DocumentText, Instant
from billing.web.pagination import PageArgs

_ID = validate.Length(min=1, max=60)
_BASE64_MAX = (MAX_BYTES + 2) // 3 * 4


class AttachmentUploadSchema(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.String(required=True, validate=validate.OneOf(sorted(SIGNATURES)))
    content_base64 = fields.String(
        required=True,
        validate=validate.Length(min=4, max=_BASE64_MAX),
        metadata={"description": f"the file, base64; at most {MAX_BYTES} bytes"},
    )

    @post_load
    def decode(self, data: dict, **_kwargs) -> Upload:
        try:
            content = base64.b64decode(data["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("not base64", "content_base64") from None
        return Upload(data["filename"], data["content_type"], content)


class DisputeCreateSchema(Schema):
    subject_type = fields.Enum(SubjectType, by_value=True, required=True)
    subject_id = fields.String(
        load_default=None,
        validate=_ID,
        metadata={"description": "the top-up, usage record or invoice id (not for usage_period)"},
    )
    line = fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.Range(min=1, max=10_000),
        metadata={"description": "invoice_line: the line's position"},
    )
    period_start = Day(load_default=None, metadata={"description": "usage_period: first day"})
    period_end = Day(load_default=None, metadata={"description": "usage_period: day after last"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    amount = fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.Range(min=1, max=10**15),
        metadata={"description": "what is disputed, minor units (optional)"},
    )
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    attachments = fields.List(
        fields.Nested(AttachmentUploadSchema),
        load_default=list,
        validate=validate.Length(max=MAX_FILES),
    )

    @validates_schema
    def check_period(self, data: dict, **_kwargs) -> None:
        if data.get("subject_type") is SubjectType.USAGE_PERIOD:
            for name in ("period_start", "period_end"):
                if data.get(name) is None:
                    raise ValidationError("required for a usage_period", name)
        elif data.get("subject_id") is None:
            raise ValidationError("required", "subject_id")


class DisputeListArgs(PageArgs):
    tenant_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    status = fields.Enum(DisputeStatus, by_value=True, load_default=None)
    owner_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    cursor = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^dsp_[0-9A-Z]{26}$", error="not a cursor this API gave out"),
        metadata={"description": "a `next_cursor` this API gave out"},
    )


class TakeOnSchema(Schema):
    owner_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "a staff user id; default: the caller"},
    )
    priority = fields.Enum(Priority, by_value=True, load_default=None)


class FromReviewSchema(Schema):
    priority = fields.Enum(
        Priority, by_value=True, load_default=None, metadata={"description": "default: high"}
    )


class CommentCreateSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    visibility = fields.Enum(
        Visibility,
        by_value=True,
        load_default=Visibility.TENANT,
        metadata={"description": "`internal`: staff only (tenants cannot post one)"},
    )


class ResolveSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = DocumentText(500, required=True, metadata={"description": "why; told to the tenant"})
    amount = fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.Range(min=1, max=10**15),
        metadata={"description": "credit (required), refund or credit note of a line: minor"},
    )
    plan_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "rerate: the plan to price the disputed period with"},
    )
    lines = fields.List(
        fields.Nested(lambda: LineCreditSchema()),
        load_default=None,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "credit_note on an invoice: lines and amounts (default all)"},
    )


class LineCreditSchema(Schema):
    position = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class CommentSchema(Schema):
    id = fields.String()
    author = fields.String()
    author_role = fields.String()
    visibility = fields.Enum(Visibility, by_value=True)
    body = fields.String()
    created_at = Instant()


class AttachmentSchema(Schema):
    id = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    created_at = Instant()


class ResolutionSchema(Schema):
    outcome = fields.String()
    amount = fields.Integer(attribute="amount_minor", allow_none=True)
    currency = fields.String()
    note = fields.String()
    plan_id = fields.String(allow_none=True)
    ledger_transaction_ids = fields.Function(
        lambda r: [str(i) for i in r.ledger_transaction_ids],
        metadata={"description": "what it posted"},
    )
    documents = fields.Dict(metadata={"description": "credit notes, refunds, re-rating figures"})
    resolved_by = fields.String()
    created_at = Instant()


class DisputeSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    subject_type = fields.Enum(SubjectType, by_value=True)
    subject_id = fields.String()
    line = fields.Integer(attribute="line_position", allow_none=True)
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    reason = fields.String()
    amount = fields.Integer(attribute="amount_minor", allow_none=True)
    currency = fields.String()
    priority = fields.Enum(Priority, by_value=True)
    status = fields.Enum(DisputeStatus, by_value=True)
    owner_id = fields.String(allow_none=True)
    source = fields.String()
    opened_by = fields.String()
    due_at = Instant(metadata={"description": "the SLA clock of its priority"})
    sla = fields.String(metadata={"description": "running | met | breached"})
    created_at = Instant()
    updated_at = Instant()
    closed_at = Instant(allow_none=True)
    comments = fields.List(fields.Nested(CommentSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))
    resolution = fields.Nested(ResolutionSchema, allow_none=True)


class DisputePageSchema(Schema):
    items = fields.List(fields.Nested(DisputeSchema))
    next_cursor = fields.String(allow_none=True)


class EvidenceSchema(Schema):
    dispute_id = fields.String()
    tenant_id = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    topup = fields.Dict(allow_none=True)
    callbacks = fields.List(fields.Dict(), metadata={"description": "raw, as received"})
    status_queries = fields.List(fields.Dict())
    refunds = fields.List(fields.Dict())
    review_items = fields.List(fields.Dict())
    usage = fields.List(fields.Dict(), metadata={"description": "with the rating breakdown"})
    usage_truncated = fields.Boolean()
    invoice = fields.Dict(allow_none=True)
    fiscal_receipt = fields.Dict(allow_none=True)
    ledger_transactions = fields.List(fields.Dict())
