"""/v1/usage: records from the platform, CDR file imports, the usage list, re-rating,
bundle balances."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Response, request
from flask.views import MethodView

from billing.auth.access import ANYONE, STAFF, principal, requires
from billing.auth.models import Role
from billing.core.clock import utcnow
from billing.core.errors import InvalidInput
from billing.invoicing.rerating import rerate_invoiced_period
from billing.runtime import current
from billing.usage.bundle_standings import tenant_bundles
from billing.usage.imports import ImportOptions, import_lines
from billing.usage.intake import Outcome, store
from billing.usage.lifecycle import store_messages
from billing.usage.queries import UsageFilter, list_usage, totals
from billing.usage.retries import retry_each, retry_waiting, savepoints
from billing.usage.schemas import (
    BatchSchema,
    BundleArgs,
    BundlesSchema,
    ImportArgs,
    ImportSummarySchema,
    IntakeResultSchema,
    RerateSchema,
    RerateSummarySchema,
    RetryArgs,
    UsageListArgs,
    UsagePageSchema,
    intake_result,
)
from billing.usage.submissions import cdr_rows, message_rows
from billing.web.api import Blueprint
from billing.web.fast_json import json_response
from billing.web.pagination import decode_cursor, encode_cursor
from billing.web.session import request_session

blp = Blueprint("usage", __name__, url_prefix="/v1/usage", description="Usage")
BATCH_BODY_BYTES = 16 * 1024 * 1024  # 10,000 records of a few hundred bytes each
IMPORT_BODY_BYTES = 4 * 1024**3  # CDR files are streamed to disk, then read line by line


@blp.before_request
def _larger_bodies() -> None:
    if request.endpoint and request.endpoint.endswith("ImportCdrs"):
        request.max_content_length = IMPORT_BODY_BYTES
    elif request.method == "POST":
        request.max_content_length = BATCH_BODY_BYTES


def _summarise(outcomes: list[Outcome]) -> Response:
    """The answer, dumped by `intake_result` rather than by `IntakeResultSchema` (which
    documents it), written by msgspec: a Response is passed through by the response
    decorator as it is."""
    return json_response(intake_result(outcomes))


@blp.route("/cdrs")
class Cdrs(MethodView):
    @requires(*STAFF)
    @blp.arguments(BatchSchema)
    @blp.response(200, IntakeResultSchema)
    def post(self, data: dict):
        """Up to 10,000 CDRs: each accepted, a duplicate, or rejected (stored) with why."""
        return _summarise(store(request_session(), cdr_rows(data["records"])))


@blp.route("/messages")
class Messages(MethodView):
    @requires(*STAFF)
    @blp.arguments(BatchSchema)
    @blp.response(200, IntakeResultSchema)
    def post(self, data: dict):
        """Up to 10,000 SMS / WhatsApp records, answered per record like /cdrs."""
        return _summarise(store_messages(request_session(), message_rows(data["records"])))


CDR_FILE_BODY = {
    "required": True,
    "content": {
        # Any text: each line is parsed on its own and a bad one is reported, not refused.
        "text/csv": {"schema": {}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}},
                "required": ["file"],
            }
        },
    },
}


@blp.route("/cdrs/import")
class ImportCdrs(MethodView):
    @requires(*STAFF)
    @blp.arguments(ImportArgs, location="query")
    @blp.doc(requestBody=CDR_FILE_BODY)
    @blp.response(200, ImportSummarySchema)
    def post(self, args: dict):
        """A CDR file (multipart `file` or a text/csv body) and `?format=asterisk|…`.

        Stored a chunk per transaction as it is read, each record rated as it is stored.
        """
        if request.mimetype in ("text/csv", "text/plain"):
            binary = request.stream
        elif "file" in request.files:
            binary = request.files["file"].stream
        else:
            raise InvalidInput.on(
                "file", "send the CDR file as multipart `file` or a text/csv body"
            )
        lines = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="")
        fmt, tenant_id = args.pop("format"), args.pop("tenant_id")
        summary = import_lines(
            current(), fmt, lines, tenant_id=tenant_id, options=ImportOptions(**args)
        )
        return summary


@blp.route("")
class Usage(MethodView):
    @requires(*ANYONE)
    @blp.arguments(UsageListArgs, location="query")
    @blp.response(200, UsagePageSchema)
    def get(self, args: dict):
        """Rated usage, newest first, with totals over the whole filter; by cursor."""
        who = principal()
        tenant_id = (
            None if who.is_staff and not args["tenant_id"] else who.tenant_for(args["tenant_id"])
        )
        where = UsageFilter(
            tenant_id=tenant_id,
            start=args["start"],
            end=args["end"] + timedelta(days=1) if args["end"] else None,  # half-open
            service=args["service"],
            destination=args["destination"],
            status=args["status"],
        )
        session = request_session()
        rows = list_usage(
            session, where, before_id=decode_cursor(args["cursor"]), limit=args["limit"] + 1
        )
        page, more = rows[: args["limit"]], len(rows) > args["limit"]
        return {
            "items": page,
            "totals": totals(session, where),
            "next_cursor": encode_cursor(page[-1].id) if more else None,
        }


@blp.route("/rerate")
class Rerate(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(RerateSchema)
    @blp.response(200, RerateSummarySchema)
    def post(self, data: dict):
        """Re-rate a tenant's period `[start, end)` with its plan as it is now; a postpaid
        invoice of the period is corrected (draft rebuilt, or credit note and adjustments)."""
        return rerate_invoiced_period(
            request_session(), principal().actor, data["tenant_id"], data["start"], data["end"]
        )


@blp.route("/retry")
class Retry(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(RetryArgs, required=False)
    @blp.response(200)
    def post(self, data: dict):
        """Rate again what was rejected for a fixable reason; settle unbilled prepaid usage.
        Without a tenant, tenant by tenant: one tenant's failure never fails the rest."""
        if data["tenant_id"] is None:
            return retry_each(savepoints(request_session()))
        return retry_waiting(request_session(), data["tenant_id"])


@blp.route("/bundles")
class Bundles(MethodView):
    @requires(*ANYONE)
    @blp.arguments(BundleArgs, location="query")
    @blp.response(200, BundlesSchema)
    def get(self, args: dict):
        """The tenant's bundles in their current periods: granted, used, remaining units
        (seconds, segments, messages or months); staff name the tenant with `?tenant_id=`."""
        tenant_id = principal().tenant_for(args["tenant_id"])
        at = args["at"] or utcnow()
        items = tenant_bundles(request_session(), tenant_id, at)
        return {"tenant_id": tenant_id, "at": at, "items": items}
