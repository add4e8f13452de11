"""The audit trail on the wire: its filters and its newest-first pages."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from billing.web.fields import Instant
from billing.web.pagination import PageArgs

_NAME = validate.Regexp(r"^[a-z][a-z0-9_.]*$", error="lower-case letters, digits, '_' and '.'")


class AuditEventArgs(PageArgs):
    tenant_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    actor = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "a staff user id, an API key id, or `system`"},
    )
    action = fields.String(
        load_default=None,
        validate=[validate.Length(min=1, max=60), _NAME],
        metadata={"description": "exact, e.g. `invoice.finalised`, or a prefix ending in `.`"},
    )
    subject_type = fields.String(
        load_default=None, validate=[validate.Length(min=1, max=40), _NAME]
    )
    subject_id = fields.String(load_default=None, validate=validate.Length(min=1, max=60))
    since = Instant(load_default=None, metadata={"description": "RFC 3339, inclusive"})
    until = Instant(load_default=None, metadata={"description": "RFC 3339, exclusive"})

    @validates_schema
    def check_range(self, data: dict, **_kwargs) -> None:
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError("must be after since", "until")
        if data.get("subject_id") and not data.get("subject_type"):
            raise ValidationError("name the subject_type too", "subject_type")


class AuditEventSchema(Schema):
    id = fields.String()
    at = Instant()
    actor = fields.String()
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    tenant_id = fields.String(allow_none=True)
    detail = fields.Dict()
    role = fields.String(allow_none=True, metadata={"description": "the actor's role"})
    request_id = fields.String(allow_none=True)
    client_address = fields.String(allow_none=True)
    chain = fields.String(allow_none=True, metadata={"description": "`tenant:<id>` or `platform`"})
    seq = fields.Integer(allow_none=True, metadata={"description": "its link on the chain"})
    prev_hash = fields.String(allow_none=True)
    hash = fields.String(allow_none=True, metadata={"description": "SHA-256 of the event"})


class AuditEventPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    next_cursor = fields.String(allow_none=True)
