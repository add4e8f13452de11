"""Intake on PostgreSQL: new rows rated, stored once, already rated (naming the debits
they will be part of), by one binary COPY, then debited (`intake.store` calls
`rate_and_insert`; the order is `rating.rate_rows`'s, which locks wallets last).

Duplicates are found first (a probe of a sample of keys, or every key), so nothing is
debited for them; the unique key has the last word: a key stored meanwhile fails the
COPY, the savepoint is undone and the batch redone with every key looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from billing.tenants.models import Tenant
from billing.usage.bulk import KeyTaken, copy_new, next_ids, stored_keys
from billing.usage.intake_rows import STORED_COLUMNS
from billing.usage.models import UsageStatus
from billing.usage.prepricing import PendingRow, Prepriced, pending_fields
from billing.usage.rating import rate_rows

_ATTEMPTS = 5  # batches redone after racing another over the same keys, at most
log = logging.getLogger(__name__)
# The rating columns besides status and reason (which the stored columns carry).
RATING_COLUMNS = ("rated_at", "plan_id", "plan_version", "zone", "band", "unit",
    "billed_units", "bundle_units", "currency", "net_minor", "vat_minor", "raw_amount",
    "fx_rate", "breakdown", "ledger_transaction_id", "ledger_entry_id",
)  # fmt: skip
# Stored already rated: the row as parsed, the id (taken from the sequence first), and
# the rating's columns (its status and reason too), each from its own dict, in this order.
_PARSED_COLUMNS = tuple(name for name in STORED_COLUMNS if name not in ("status", "reason"))
RATED_COLUMNS = (*_PARSED_COLUMNS, "id", "status", "reason", *RATING_COLUMNS)
_new_tuple = tuple.__new__  # a NamedTuple from its values in order, without keywords


class _Raced(Exception):
    """Another transaction stored one of our new keys between our check and our insert."""


def rate_and_insert(
    session: Session,
    rows: Sequence[dict],
    looked_up: bool = False,
    tenants: dict[str, Tenant] | None = None,
    prepriced: Prepriced | None = None,
) -> dict[tuple[str, str], int] | None:
    """Rate the new rows and insert every new row once, rated; their ids by key.

    `prepriced`: the rows priced ahead of this transaction (`preprice`); those still
    holding are not priced again (`rate_rows`).

    In a savepoint: if a concurrent batch stored one of the keys meanwhile, the insert
    skips it, the debit would be wrong, so the savepoint is undone and the batch redone
    (the key is then found stored, a duplicate). If rating fails for any other reason
    (a lock timeout, a tariff that will not load), the savepoint is undone and None
    returned: the caller stores the rows pending for the rating job, so intake never
    loses a record because rating broke.
    """
    checked = False  # the first attempt trusts the probe (see `_stored`)
    for _attempt in range(_ATTEMPTS):
        try:
            with session.begin_nested():
                return _rate_and_insert_once(session, rows, checked, looked_up, tenants, prepriced)
        except _Raced:
            # Redone with every key looked up, and priced again: rating marked the prices
            # made ahead (status, debit) before the race undid it.
            checked, prepriced = True, None
            continue
        except Exception:
            log.exception("rating at intake failed; %d records stored pending", len(rows))
            return None
    log.warning("intake raced %d times; %d records stored pending", _ATTEMPTS, len(rows))
    return None


_PROBE = 32  # keys looked up before a batch is taken to be all new


def _stored(
    session: Session, rows: Sequence[dict], checked: bool, looked_up: bool = False
) -> set[tuple[str, str]]:
    """The batch's keys already stored; unless `checked`, only as far as a probe tells.

    Looking every key up costs the server as much as a fifth of storing the rows, and a
    batch is nearly always all new: so a sample of its keys (first, last, and spread
    between) is looked up, and if none is stored the batch is taken to be new. The
    unique key still has the last word: if a key was stored after all, the COPY fails,
    the savepoint is undone and the batch is redone with every key looked up. A resent
    file or batch is found by the probe and never costs the redo.
    """
    if looked_up and not checked:
        return set()
    if checked:
        return stored_keys(session, list({(r["source_system"], r["source_id"]) for r in rows}))
    step = max(1, len(rows) // _PROBE)
    sample = {(r["source_system"], r["source_id"]) for r in (*rows[::step], rows[-1])}
    found = stored_keys(session, list(sample))
    if found:
        return _stored(session, rows, True)
    return found


def _rate_and_insert_once(
    session: Session,
    rows: Sequence[dict],
    checked: bool = True,
    looked_up: bool = False,
    tenants: dict[str, Tenant] | None = None,
    prepriced: Prepriced | None = None,
) -> dict[tuple[str, str], int]:
    stored = _stored(session, rows, checked, looked_up)
    ahead = prepriced.chunk if prepriced is not None else None
    if ahead is not None and not stored and tenants is not None and ahead.known == set(tenants):
        # Nearly always: numbered and shaped ahead (`preprice`), nothing of it stored.
        new, ids, pending, priced = ahead.new, ahead.ids, ahead.pending, ahead.priced
        fresh = list(new.values())
    else:
        new, ids, fresh, pending, priced = _shaped(session, rows, stored, prepriced)
    if not new:
        return {}

    def write(session: Session, results: Sequence[Any]) -> None:
        rated = {result.usage_id: result.fields for result in results}
        try:
            copy_new(session, RATED_COLUMNS, _rated_values(fresh, ids, rated))
        except KeyTaken as error:
            raise _Raced from error

    if pending:
        rate_rows(session, pending, key=f"usage:{pending[0].id}", write=write, tenants=tenants,
                  prepriced=prepriced, priced=priced)  # fmt: skip
    else:
        write(session, ())
    return dict(zip(new, ids, strict=True))


def _shaped(
    session: Session,
    rows: Sequence[dict],
    stored: set[tuple[str, str]],
    prepriced: Prepriced | None,
) -> tuple[dict[tuple[str, str], dict], list[int], list[dict], list[Any], Sequence[Any]]:
    """The batch's new rows by key (the first of a key is the one stored), their ids (the
    ones taken ahead, if any, else from the sequence), the rows, the pending ones as
    rating reads them, and the prices made ahead of those."""
    new: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["source_system"], row["source_id"])
        if key not in stored and key not in new:
            new[key] = row
    if not new:
        return new, [], [], [], ()
    ahead = prepriced.chunk if prepriced is not None else None
    if ahead is not None:  # taken in file order ahead: those of stored keys go unused
        taken = dict(zip(ahead.new, ahead.ids, strict=True))
        ids = [taken[key] for key in new]
    else:
        ids = next_ids(session, len(new))
    fresh = list(new.values())
    waiting = UsageStatus.PENDING.value
    pending = [_new_tuple(PendingRow, (usage_id, *pending_fields(row)))
               for row, usage_id in zip(fresh, ids, strict=True)
               if row["status"] == waiting]  # fmt: skip
    priced: Sequence[Any] = ()
    if prepriced is not None:
        priced = _aligned(prepriced.by_row(rows), rows, fresh, pending)
    return new, ids, fresh, pending, priced


def _aligned(
    ahead: list[dict[str, Any] | None],
    rows: Sequence[dict],
    fresh: list[dict],
    pending: list[Any],
) -> Sequence[dict[str, Any] | None]:
    """The prices `ahead` (one a row of `rows`) of the `pending` rows of `fresh`: as they
    are when every row is new and pending (nearly always), else picked out."""
    if len(pending) == len(fresh) == len(rows):
        return ahead
    waiting = UsageStatus.PENDING.value
    by_row = {id(row): fields for row, fields in zip(rows, ahead, strict=True)}
    return [by_row[id(row)] for row in fresh if row["status"] == waiting]


_parsed_values = itemgetter(*_PARSED_COLUMNS)
_rating_values = itemgetter("status", "reason", *RATING_COLUMNS)
_NOT_RATED = (None,) * len(RATING_COLUMNS)


def _rated_values(
    rows: Sequence[dict], ids: Sequence[int], rated: dict[int, dict[str, Any]]
) -> Iterator[list]:
    """Each row's values in `RATED_COLUMNS` order: as parsed, its id, and its rating
    (status and reason the rating's if it was rated). The rating's columns are kept on
    the row as `rated` for `store`'s outcomes: the debit comes after this COPY, and
    what it settles otherwise it marks there too. No merged dict a row is built; a list,
    which `copy_new` encodes in place."""
    for row, usage_id in zip(rows, ids, strict=True):
        fields = rated.get(usage_id)
        if fields is None:  # rejected before rating (unknown tenant, malformed)
            yield [*_parsed_values(row), usage_id, row["status"], row["reason"], *_NOT_RATED]
        else:
            row["rated"] = fields
            yield [*_parsed_values(row), usage_id, *_rating_values(fields)]
