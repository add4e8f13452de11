"""Exports and erasure requests on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.privacy.models import ErasureStatus, ExportStatus
from billing.web.fields import Instant


class ExportSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    status = fields.Enum(ExportStatus, by_value=True)
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True, metadata={"description": "of the whole archive"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True,
                         metadata={"description": "rows exported, by part"})  # fmt: skip
    created_at = Instant()
    finished_at = Instant(allow_none=True)
    expires_at = Instant(allow_none=True, metadata={"description": "then the archive is deleted"})
    download_url = fields.Function(
        lambda e: f"/v1/exports/{e.id}/archive" if e.status == ExportStatus.READY else None,
        allow_none=True,
    )


class ErasureCreateSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class ErasureDecisionSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class ErasureSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    status = fields.Enum(ErasureStatus, by_value=True)
    note = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    report = fields.Dict(allow_none=True, metadata={
        "description": "what was pseudonymised (counts), what was kept and the law keeping it"
    })  # fmt: skip
    created_at = Instant()
    decided_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)


class RestrictionSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
