"""/v1/reconciliations: settlement statements uploaded, matched and reported; and crediting
a top-up a statement shows paid, from its review item."""

from __future__ import annotations

import tempfile
from typing import BinaryIO

from flask import Response, request, stream_with_context
from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import STAFF, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.errors import InvalidInput, NotFound
from billing.runtime import current
from billing.settlement import credit, report, service, summary
from billing.settlement.schemas import (
    CreditAfterReviewSchema,
    LineListArgs,
    SettlementDaySchema,
    SettlementLinePageSchema,
    SettlementStatementSchema,
    StatementListArgs,
    SummaryArgs,
    UploadArgs,
)
from billing.topups.schemas import ReviewItemSchema
from billing.web.api import Blueprint
from billing.web.pagination import decode_cursor, encode_cursor
from billing.web.session import request_session

blp = Blueprint("settlement", __name__, url_prefix="/v1", description="Settlement reconciliation")
FINANCE = (Role.FINANCE, Role.ADMIN)


@finds("reconciliation_id")
def _find_statement(session: Session, reconciliation_id: str, who: Principal) -> object:
    """Statements are finance's: no tenant key finds one."""
    if not who.is_staff:
        raise NotFound(f"reconciliation {reconciliation_id} not found")
    return service.get_statement(session, reconciliation_id)


@blp.before_request
def _statement_bodies() -> None:
    if request.endpoint and request.endpoint.endswith(".Reconciliations"):
        request.max_content_length = current().settings.statement_max_bytes


STATEMENT_BODY = {
    "required": True,
    "content": {
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


@blp.route("/reconciliations")
class Reconciliations(MethodView):
    @requires(*FINANCE)
    @blp.arguments(UploadArgs, location="query")
    @blp.doc(requestBody=STATEMENT_BODY)
    @blp.response(201, SettlementStatementSchema)
    def post(self, args: dict):
        """Import a provider's settlement statement (multipart `file` or a text/csv body)
        and match it: the same file again changes nothing and answers `reimported`."""
        source, filename = _upload()
        with source:
            imported = service.import_statement(
                request_session(),
                fmt=args["provider"],
                source=source,
                filename=filename,
                actor=principal().actor,
            )
        statement = imported.statement
        statement.reimported = imported.reimported  # answered, not stored
        return statement

    @requires(*STAFF)
    @blp.arguments(StatementListArgs, location="query")
    @blp.response(200, SettlementStatementSchema(many=True))
    def get(self, args: dict):
        """Imported statements, newest first."""
        return service.list_statements(request_session(), **args)


def _upload() -> tuple[BinaryIO, str]:
    """The statement spooled to a temporary file (it is read twice: hashed, then parsed)."""
    if request.mimetype in ("text/csv", "text/plain"):
        stream, filename = request.stream, "statement.csv"
    elif "file" in request.files:
        upload = request.files["file"]
        stream, filename = upload.stream, upload.filename or "statement.csv"
    else:
        raise InvalidInput.on("file", "send the statement as multipart `file` or a text/csv body")
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    while chunk := stream.read(1 << 20):
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, filename


@blp.route("/reconciliations/summary")
class Summary(MethodView):
    @requires(*STAFF)
    @blp.arguments(SummaryArgs, location="query")
    @blp.response(200, SettlementDaySchema(many=True))
    def get(self, args: dict):
        """Per provider and statement day: lines, matched, exceptions by kind, and gross,
        fees, net, paid to bank and unsettled (minor units)."""
        day = args["day"].isoformat() if args["day"] else None
        return summary.daily_summary(request_session(), day=day, provider=args["provider"])


@blp.route("/reconciliations/<reconciliation_id>")
class ReconciliationById(MethodView):
    @requires(*STAFF)
    @blp.response(200, SettlementStatementSchema)
    def get(self, reconciliation_id: str):
        """One statement with its totals per outcome."""
        return service.get_statement(request_session(), reconciliation_id)


@blp.route("/reconciliations/<reconciliation_id>/lines")
class ReconciliationLines(MethodView):
    @requires(*STAFF)
    @blp.arguments(LineListArgs, location="query")
    @blp.response(200, SettlementLinePageSchema)
    def get(self, args: dict, reconciliation_id: str):
        """The statement's lines in file order, filterable by outcome; by cursor."""
        rows = service.list_lines(
            request_session(),
            reconciliation_id,
            outcome=args["outcome"],
            after=decode_cursor(args["cursor"]),
            limit=args["limit"] + 1,
        )
        page, more = rows[: args["limit"]], len(rows) > args["limit"]
        return {"items": page, "next_cursor": encode_cursor(page[-1].id) if more else None}


@blp.route("/reconciliations/<reconciliation_id>/report")
class ReconciliationReport(MethodView):
    @requires(*STAFF)
    @blp.response(200, content_type="text/csv")
    def get(self, reconciliation_id: str):
        """The reconciliation report as CSV: every line with its outcome, top-up, expected
        amount and review item, streamed."""
        sessions = current().sessions

        def rows():  # its own session: the request's is closed before the body streams
            with sessions() as session:
                yield from report.report_rows(session, reconciliation_id)

        filename = f"reconciliation-{reconciliation_id}.csv"
        return Response(
            stream_with_context(rows()),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


@blp.route("/review-items/<item_id>/credit")
class CreditAfterReview(MethodView):
    @requires(*FINANCE)
    @blp.arguments(CreditAfterReviewSchema)
    @blp.response(200, ReviewItemSchema)
    def post(self, data: dict, item_id: str):
        """Credit the top-up a statement shows paid but Malipo never credited (a
        `statement_missing_in_malipo` item), and book its settlement; the item resolves."""
        return credit.credit_after_review(
            request_session(), item_id, actor=principal().actor, note=data["note"]
        )
