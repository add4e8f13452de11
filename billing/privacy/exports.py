"""Data exports (access and portability): requested by the tenant's admin or staff, built
by the `privacy.export` job, downloadable by the requesting key alone until it expires,
then deleted (at the first request after expiry, or by the daily retention job)."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core import scoping
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.core.errors import NotFound
from billing.core.ids import new_id
from billing.privacy.archive import write_archive
from billing.privacy.models import DataExport, ExportStatus

log = logging.getLogger(__name__)


def request_export(session: Session, tenant_id: str, key_id: str, actor: str) -> DataExport:
    from billing.jobs.outbox import defer

    export = DataExport(id=new_id("exp"), tenant_id=tenant_id, requested_by=key_id,
                        status=ExportStatus.QUEUED, created_at=utcnow())  # fmt: skip
    session.add(export)
    session.flush()
    record(session, actor=actor, action="export.requested", subject_type="tenant",
           subject_id=tenant_id, tenant_id=tenant_id, detail={"export_id": export.id})  # fmt: skip
    defer(session, "privacy.export", export.id, dedupe_key=f"privacy.export:{export.id}")
    return export


def get_for_requester(session: Session, export_id: str, key_id: str) -> DataExport:
    """Only the key that asked sees its export: anyone else (its own tenant's other keys,
    staff) is told it does not exist."""
    export = session.get(DataExport, export_id)
    if export is None or export.requested_by != key_id:
        raise NotFound(f"export {export_id} not found")
    return export


def archive_path(settings: Settings, export: DataExport) -> Path:
    return export_folder(settings) / (export.file_name or f"{export.id}.zip")


def export_folder(settings: Settings) -> Path:
    """Absolute: a relative MALIPO_EXPORT_DIR is the process's working directory's."""
    return Path(settings.export_dir).resolve()


def build(session: Session, settings: Settings, export_id: str) -> DataExport | None:
    """Write the archive (the job's body); a second run finds it built and does nothing.
    The rows are read in the tenant's own scope: row-level security itself keeps every
    other tenant's rows out of the file."""
    export = session.get(DataExport, export_id)
    if export is None or export.status != ExportStatus.QUEUED:
        return None
    tenant_id = export.tenant_id
    scoping.set_scope(session, scoping.Scope.tenant(tenant_id))
    folder = export_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{export.id}.zip"
    partial = folder / (name + ".partial")
    try:
        counts = write_archive(session, tenant_id, partial)
    except Exception:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(folder / name)
    scoping.set_scope(session, scoping.SYSTEM)
    export.file_name, export.counts = name, counts
    export.size_bytes = (folder / name).stat().st_size
    export.sha256 = _sha256(folder / name)
    export.status, export.finished_at = ExportStatus.READY, utcnow()
    export.expires_at = export.finished_at + timedelta(seconds=settings.export_ttl_s)
    log.info("export %s ready: %d bytes", export.id, export.size_bytes)
    return export


def expire_due(session: Session, settings: Settings) -> int:
    """Delete every archive past its expiry; the rows stay, marked expired."""
    due = session.execute(
        select(DataExport).where(
            DataExport.status == ExportStatus.READY, DataExport.expires_at <= utcnow()
        )
    ).scalars()
    count = 0
    for export in due:
        expire(settings, export)
        count += 1
    return count


def expire(settings: Settings, export: DataExport) -> None:
    delete_archive(export, settings)
    export.status = ExportStatus.EXPIRED


def delete_archive(export: DataExport, settings: Settings | None = None) -> None:
    from billing.runtime import current

    settings = settings or current().settings
    archive_path(settings, export).unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
