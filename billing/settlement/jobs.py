"""The daily reconciliation: yesterday's statements from the drop folder, each imported by
a job of its own.

Operators and aggregators deliver their statements (SFTP, a portal download script)
into `MALIPO_SETTLEMENT_DIR` as `<provider>-<YYYY-MM-DD>.csv`, the day being the
statement's. Once an hour the ticker looks for the previous day's (East Africa Time):
a file not yet imported is handed to `settlement.reconcile_file`, deduplicated on its
content, so a file re-delivered unchanged is imported once and a corrected one again.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta

from billing.audit.service import SYSTEM, record
from billing.core.clock import utcnow
from billing.core.errors import InvalidInput
from billing.jobs.outbox import defer
from billing.jobs.registry import job
from billing.runtime import Runtime, current
from billing.settlement.formats import FORMATS
from billing.settlement.formats.lines import EAT
from billing.settlement.models import Statement
from billing.settlement.service import Imported, digest, import_statement

log = logging.getLogger(__name__)


def statement_path(folder: str, fmt: str, day: date) -> str:
    return os.path.join(folder, f"{fmt}-{day.isoformat()}.csv")


def previous_day(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(EAT).date() - timedelta(days=1)


def request_daily_reconciliation(runtime: Runtime, day: date | None = None) -> list[str]:
    """Ask for each of the day's statements to be imported, once; the files asked for."""
    day = day or previous_day()
    if runtime.settings.provider_mode == "sandbox":
        fetch_sandbox_statements(runtime.settings.public_url, runtime.settings.settlement_dir, day)
    asked = []
    with runtime.unit_of_work() as session:
        for fmt in FORMATS:
            path = statement_path(runtime.settings.settlement_dir, fmt, day)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as source:
                sha256 = digest(source)
            known = session.query(Statement.id).filter_by(provider=fmt, sha256=sha256).first()
            if known is not None:
                continue
            if defer(
                session,
                "settlement.reconcile_file",
                path,
                fmt,
                dedupe_key=f"settlement:{fmt}:{sha256}",
            ):
                asked.append(path)
    return asked


def fetch_sandbox_statements(public_url: str, folder: str, day: date) -> list[str]:
    """Sandbox: each simulated operator's statement of the day into the drop folder, as a
    live operator's delivery would put it there (a day with no payments writes none)."""
    import requests

    written = []
    os.makedirs(folder, exist_ok=True)
    for fmt in FORMATS:
        path = statement_path(folder, fmt, day)
        if os.path.exists(path):
            continue
        url = f"{public_url.rstrip('/')}/sandbox/{fmt}/statement"
        try:
            answer = requests.get(url, params={"date": day.isoformat()}, timeout=30)
        except requests.RequestException as error:
            log.warning("sandbox statement %s unavailable: %s", url, type(error).__name__)
            continue
        if answer.status_code != 200:  # 204: no payments that day
            continue
        with open(path, "wb") as out:
            out.write(answer.content)
        written.append(path)
    return written


def import_file(runtime: Runtime, path: str, fmt: str, *, actor: str) -> Imported:
    with open(path, "rb") as source, runtime.unit_of_work() as session:
        return import_statement(
            session, fmt=fmt, source=source, filename=os.path.basename(path), actor=actor
        )


@job("settlement.reconcile_file")
def reconcile_file(path: str, fmt: str) -> None:
    """Import one statement file; a file that cannot be read is refused once, on record
    (a person replaces it), not retried."""
    runtime = current()
    try:
        imported = import_file(runtime, path, fmt, actor=SYSTEM)
    except InvalidInput as error:
        log.error("settlement statement %s refused: %s", path, error.detail)
        with runtime.unit_of_work() as session:
            record(
                session,
                actor=SYSTEM,
                action="settlement.statement_refused",
                subject_type="settlement_file",
                subject_id=os.path.basename(path)[:60],
                detail={"provider": fmt, "path": path, "errors": error.errors},
            )
        return
    log.info("settlement statement %s: %s", path, imported.statement.totals.get("outcomes"))
