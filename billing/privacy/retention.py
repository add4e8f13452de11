"""Retention: each class of data is kept for its configured days (Settings.retention_days),
then dropped or pseudonymised by a daily job that reports what it did.

Idempotent: every rule selects only what is still there to drop or still in clear, so a
second run the same day finds nothing and reports zeros. Usage detail goes a month at a
time: a month whose partition (migration 0028) is wholly past the cutoff has its
numbers pseudonymised, or, past the usage-records cutoff, the partition is dropped.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
from billing.core.config import Settings
from billing.core.db import is_postgresql
from billing.privacy import exports
from billing.privacy.pseudonyms import pseudonym

log = logging.getLogger(__name__)
PARTITION = re.compile(r"usage_records_(\d{4})_(\d{2})")


def request_daily(session: Session, day: date) -> int | None:
    """Ask for the day's run once; later asks the same day are dropped by the outbox."""
    from billing.jobs.outbox import defer

    # The ledger queue, beside the daily ledger audit: upkeep waits behind a worker's
    # default work (top-ups, rating) rather than holding it up.
    return defer(session, "privacy.retention", day.isoformat(), queue="ledger",
                 dedupe_key=f"privacy.retention:{day.isoformat()}")  # fmt: skip


def apply(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """Apply every rule as of `now`; what was done, by rule."""
    days = settings.retention_days

    def cutoff(kind: str) -> datetime:
        return now - timedelta(days=days[kind])

    report: dict[str, Any] = {
        "callback_bodies_emptied": _empty_callback_bodies(session, cutoff("callback_bodies")),
        "message_bodies_removed": _remove_message_bodies(session, cutoff("message_bodies")),
        "idempotency_records_deleted": session.execute(
            text("DELETE FROM idempotency_records WHERE created_at < :c"),
            {"c": cutoff("idempotency_records")},
        ).rowcount,
        "exports_expired": _expire_exports(session, settings, now, cutoff("exports")),
    }
    if is_postgresql(session):
        report["usage_months_ready"] = _months_ahead(session, now)
        report["usage_months_dropped"] = _drop_months(session, cutoff("usage_records"))
        report["usage_numbers_pseudonymised"] = _pseudonymise_months(
            session, settings.pseudonym_key, cutoff("usage_numbers")
        )
    record(session, actor=SYSTEM, action="retention.applied", subject_type="retention",
           subject_id=now.date().isoformat(), detail=report)  # fmt: skip
    log.info("retention as of %s: %s", now.date().isoformat(), report)
    return report


def _empty_callback_bodies(session: Session, before: datetime) -> int:
    """Raw callbacks past their period keep their parsed facts, not the bytes and headers
    (which carry the payer's number). Only callbacks whose work is done."""
    return session.execute(
        text(
            "UPDATE callback_inbox SET body = :empty, headers = '{}'"
            " WHERE received_at < :c AND status IN ('applied', 'rejected')"
            " AND (length(body) > 0 OR CAST(headers AS TEXT) <> '{}')"
        ),
        {"c": before, "empty": b""},
    ).rowcount


def _remove_message_bodies(session: Session, before: datetime) -> int:
    """Message records keep what rated them; any text they carried goes."""
    return session.execute(
        text(
            "UPDATE usage_records SET raw = NULL WHERE started_at < :c"
            " AND service IN ('sms', 'whatsapp') AND raw IS NOT NULL"
        ),
        {"c": before},
    ).rowcount


def _expire_exports(session: Session, settings: Settings, now: datetime, before: datetime) -> int:
    expired = exports.expire_due(session, settings)
    stale = session.execute(
        text("SELECT id FROM data_exports WHERE status = 'ready' AND created_at < :c"),
        {"c": before},
    ).scalars()
    from billing.privacy.models import DataExport

    for export_id in list(stale):
        exports.expire(settings, session.get(DataExport, export_id))
        expired += 1
    return expired


def month_partitions(session: Session) -> list[tuple[date, str]]:
    names = session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'usage_records'::regclass ORDER BY 1"
    )).scalars()  # fmt: skip
    months = []
    for name in names:
        match = PARTITION.fullmatch(name)
        if match:
            months.append((date(int(match[1]), int(match[2]), 1), name))
    return months


def _month_end(month: date) -> datetime:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return datetime(following.year, following.month, 1, tzinfo=UTC)


def _months_ahead(session: Session, now: datetime, ahead: int = 3) -> int:
    """This month's and the next `ahead` months' partitions exist (created as needed)."""
    created = 0
    month = date(now.year, now.month, 1)
    existing = {name for _, name in month_partitions(session)}
    for _ in range(ahead + 1):
        name = session.execute(text("SELECT usage_partition_ensure(:m)"), {"m": month}).scalar()
        created += name not in existing
        month = _month_end(month).date()
    return created


def _drop_months(session: Session, before: datetime) -> list[str]:
    """Every month wholly before the cutoff is dropped whole (its partition); rows of
    such dates that landed in the default partition are deleted."""
    dropped = []
    for month, name in month_partitions(session):
        if _month_end(month) <= before:
            session.execute(text("SELECT usage_partition_drop(:m)"), {"m": month})
            dropped.append(name)
    session.execute(
        text("DELETE FROM usage_records_default WHERE started_at < :c"),
        {"c": before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)},
    )
    return dropped


def _pseudonymise_months(session: Session, key: str, before: datetime) -> dict[str, int]:
    """Caller and callee numbers of every month wholly before the cutoff, replaced by
    keyed hashes; a month already done has no number in clear and costs one scan."""
    done: dict[str, int] = {}
    for month, name in month_partitions(session):
        if _month_end(month) > before:
            continue
        changed = 0
        for column in ("from_number", "to_number"):
            numbers = session.execute(
                text(
                    f"SELECT DISTINCT {column} FROM {name}"  # noqa: S608 (catalogue names)
                    f" WHERE {column} <> '' AND {column} NOT LIKE 'pz\\_%'"
                )
            ).scalars()
            mapping = [{"n": n, "p": pseudonym(key, n, 20)} for n in numbers]
            if not mapping:
                continue
            session.execute(text(
                "CREATE TEMP TABLE IF NOT EXISTS retention_map (n text PRIMARY KEY, p text)"
                " ON COMMIT DROP"
            ))  # fmt: skip
            session.execute(text("DELETE FROM retention_map"))
            session.execute(text("INSERT INTO retention_map (n, p) VALUES (:n, :p)"), mapping)
            changed += session.execute(text(
                f"UPDATE {name} AS u SET {column} = m.p FROM retention_map AS m"  # noqa: S608
                f" WHERE u.{column} = m.n"
            )).rowcount  # fmt: skip
        if changed:
            done[name] = changed
    return done
