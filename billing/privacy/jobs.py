"""Privacy jobs: building an export, carrying out an approved erasure, daily retention."""

from __future__ import annotations

from billing.core.clock import utcnow
from billing.jobs.registry import job
from billing.privacy import erasure, exports, retention
from billing.runtime import current


@job("privacy.export")
def build_export(export_id: str) -> None:
    runtime = current()
    with runtime.unit_of_work() as session:
        exports.build(session, runtime.settings, export_id)


@job("privacy.erase")
def erase_tenant(erasure_id: str) -> None:
    runtime = current()
    with runtime.unit_of_work() as session:
        erasure.erase(session, erasure_id, runtime.settings.pseudonym_key)


@job("privacy.retention")
def apply_retention(day: str) -> None:
    """The day's retention run (requested once a day; a rerun finds nothing left to do)."""
    runtime = current()
    with runtime.unit_of_work() as session:
        retention.apply(session, runtime.settings, utcnow())
