"""Late usage: postpaid usage rated after the invoice of its period was finalised.

Late records are normal (a carrier resends, a platform flushes late). The invoice of
their period is never edited and the next period's invoice bills only its own period,
so such a record's net becomes a pending usage adjustment (`billing.usage.adjustments`)
per invoice, service and zone, which the tenant's next postpaid draft bills as
`Late usage of 2026-10: …`. The record itself stays `accrued`.

Rating calls `take_late_usage` with the tenant's accrued totals locked
(`accruals.lock_accrued`): a finalise takes the same lock before it reads the usage, so
a period is either finalised before this looks (and the record is late) or after the
rating commits (and the invoice bills the record). One query per batch, none when the
batch has no postpaid usage; most batches find no finalised period and end there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from billing.usage.adjustments import add_pending
from billing.usage.models import AdjustmentKind, InvoicedPeriod
from billing.usage.statements import INVOICE_ZONE, line_description, period_bounds

_periods = InvoicedPeriod.__table__


def take_late_usage(
    session: Session, rated: Sequence[tuple[Row, dict[str, Any]]]
) -> dict[tuple[str, str], int]:
    """Move the late ones of these rated postpaid (row, fields) to pending adjustments;
    what was moved per (tenant, currency), which the caller does not accrue itself (the
    adjustment is counted in the accrued total already)."""
    if not rated:
        return {}
    earliest = min(row.occurred_at for row, _ in rated).astimezone(INVOICE_ZONE).date()
    query = (
        select(_periods)
        .where(
            _periods.c.tenant_id.in_({row.tenant_id for row, _ in rated}),
            _periods.c.period_end > earliest,
        )
        .order_by(_periods.c.tenant_id, _periods.c.period_start)
    )
    windows: dict[str, list[tuple[datetime, datetime, Row]]] = defaultdict(list)
    for period in session.execute(query):
        windows[period.tenant_id].append(
            (*period_bounds(period.period_start, period.period_end), period)
        )
    if not windows:
        return {}
    late: dict[tuple[str, str, str, str], int] = defaultdict(int)
    invoiced: dict[str, Row] = {}
    for row, fields in rated:
        for since, until, period in windows.get(row.tenant_id, ()):
            if since <= row.occurred_at < until:
                invoiced[period.invoice_id] = period
                key = (period.invoice_id, fields["currency"], row.service, fields["zone"])
                late[key] += fields["net_minor"]
                break
    moved: dict[tuple[str, str], int] = defaultdict(int)
    for (invoice_id, currency, service, zone), net in sorted(late.items()):
        if net <= 0:
            continue  # free usage: nothing to bill, nothing accrued
        period = invoiced[invoice_id]
        add_pending(
            session,
            kind=AdjustmentKind.LATE,
            source_invoice_id=invoice_id,
            tenant_id=period.tenant_id,
            currency=currency,
            service=service,
            zone=zone,
            description=line_description(service, zone),
            amount_minor=net,
            period=(period.period_start, period.period_end),
        )
        moved[(period.tenant_id, currency)] += net
    return dict(moved)
