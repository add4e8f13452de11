"""Rating a batch so that one tenant's failure parks that tenant's rows, not the batch.

The batch is rated as one (one ledger transaction per tenant, the fast path) in a
savepoint. If that raises, each tenant's rows are rated alone, each in a savepoint, and
the rows of a tenant whose rating still raises are parked (`billing.usage.parking`):
every other tenant's rows are rated as if the bad one had not been in the batch. A
transient database failure is raised on, so the job is retried rather than parking
good rows.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

from sqlalchemy import Row
from sqlalchemy.orm import Session

from billing.core.db import is_postgresql
from billing.usage.parking import failed, park, transient
from billing.usage.rating import rate_rows

log = logging.getLogger(__name__)


def rate_apart(session: Session, rows: Sequence[Row], *, prefix: str) -> dict[str, int]:
    """`rate_rows` over claimed pending rows, parking a tenant whose rating raises;
    counts by resulting status. `prefix` names the ledger key (`<prefix>:<first id>`)."""
    if not rows:
        return {}
    if not is_postgresql(session):  # a laptop's SQLite: no savepoints to fall back on
        return rate_rows(session, rows, key=f"{prefix}:{rows[0].id}")
    try:
        with session.begin_nested():
            return rate_rows(session, rows, key=f"{prefix}:{rows[0].id}")
    except Exception as error:
        if transient(error):
            raise
        log.exception("rating %d records failed; rating them tenant by tenant", len(rows))
    by_tenant: dict[str | None, list[Row]] = defaultdict(list)
    for row in rows:
        by_tenant[row.tenant_id].append(row)
    counts: Counter[str] = Counter()
    for tenant_id in sorted(by_tenant, key=lambda t: t or ""):  # wallets locked in one order
        group = by_tenant[tenant_id]
        try:
            with session.begin_nested():
                counts.update(rate_rows(session, group, key=f"{prefix}:{group[0].id}"))
        except Exception as error:
            if transient(error):
                raise
            log.exception("rating tenant %s failed; %d records parked", tenant_id, len(group))
            park(session, [row.id for row in group], tenant_id, failed(error))
            counts["rejected"] += len(group)
    return dict(counts)
