"""A file stored two chunks at once (billing.usage.turns) ends as one stored a chunk at a time."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from billing.ledger.models import Transaction
from billing.ledger.postings import WALLET
from billing.ledger.service import account_balance
from billing.usage import imports
from billing.usage.imports import _chunks, _store_one_by_one, import_lines, parse
from tests.integration.usage.conftest import rows
from tests.integration.usage.test_import_and_list import asterisk_line

pytestmark = pytest.mark.integration
CHUNK = 6


def master_csv(tenant_id: str, prefix: str) -> list[str]:
    """40 calls of varied length, a key repeated two chunks later, a poisoned row, and
    calls of a tenant nobody knows: the wallet runs dry part way through."""
    lines = []
    for n in range(40):
        billsec = (n * 37) % 76  # at most the duration, 75 s
        lines.append(asterisk_line(tenant_id, "0712345678", billsec, f"{prefix}-{n}"))
    lines[20] = lines[3]  # the same call again, in a later chunk: a duplicate
    lines[10] = f'"broken-{prefix}","row"\n'  # poisoned: rejected with its line number
    lines[25] = asterisk_line("ten_nobody", "0712345678", 30, f"{prefix}-nobody")
    return lines


def stored_by_line(sessions, tenant_id: str, prefix: str) -> list[tuple]:
    found = {r.source_id: r for r in rows(sessions, tenant_id)}
    return [
        (r.status, r.reason, r.net_minor, r.vat_minor, r.ledger_transaction_id is not None)
        if (r := found.get(f"{prefix}-{n}"))
        else None
        for n in range(40)
    ]


def usage_debits(sessions, tenant_id: str) -> tuple[int, int]:
    with sessions() as session:
        count = session.execute(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.tenant_id == tenant_id, Transaction.kind == "usage")
        ).scalar()
        return count, account_balance(session, tenant_id, WALLET, "TZS").balance_minor


def slowed(monkeypatch, source_id: str) -> None:
    """The chunk starting with `source_id` dawdles once its turn has come: the chunk
    behind it, left alone, would take the wallet first."""
    from billing.usage import rating

    for_rows = rating.BundleBook.for_rows

    def slow(session, rows, tenants, tariffs):
        if rows and rows[0].source_id == source_id:
            time.sleep(0.5)
        return for_rows(session, rows, tenants, tariffs)

    monkeypatch.setattr(rating.BundleBook, "for_rows", slow)


def test_two_chunks_at_once_store_what_one_at_a_time_stores(
    rated_tenant, runtime, sessions, monkeypatch
):
    one, two = rated_tenant(balance=1_500_00), rated_tenant(balance=1_500_00)
    slowed(monkeypatch, "b-12")
    alone = _store_one_by_one(
        runtime, _chunks(parse("asterisk", master_csv(one.tenant_id, "a")), None, CHUNK), None
    )
    paired = import_lines(runtime, "asterisk", master_csv(two.tenant_id, "b"), chunk=CHUNK)

    assert (paired.rows, paired.rated, paired.duplicates, paired.malformed) == (
        alone.rows, alone.rated, alone.duplicates, alone.malformed,
    )  # fmt: skip
    assert paired.not_rateable == alone.not_rateable == {"unknown_tenant": 1}
    assert (paired.duplicates, paired.malformed, paired.pending) == (1, 1, 0)
    reasons = [sample["reason"] for sample in paired.rejected_samples]
    assert any(reason.startswith("malformed: line 11:") for reason in reasons), reasons
    by_line = stored_by_line(sessions, two.tenant_id, "b")
    assert by_line == stored_by_line(sessions, one.tenant_id, "a")
    statuses = {line[0] for line in by_line if line}
    assert {"billed", "unbilled"} <= statuses  # the wallet ran dry part way: order matters
    assert usage_debits(sessions, two.tenant_id) == usage_debits(sessions, one.tenant_id)
    again = import_lines(runtime, "asterisk", master_csv(two.tenant_id, "b"), chunk=CHUNK)
    assert again.duplicates == again.rows  # a re-import changes nothing
    assert usage_debits(sessions, two.tenant_id) == usage_debits(sessions, one.tenant_id)


def test_a_chunk_that_fails_undoes_the_chunks_behind_it(
    rated_tenant, runtime, sessions, monkeypatch
):
    tenant = rated_tenant(balance=10_000_00)
    stored = imports.store

    def failing(session, rows, turn=None):
        outcomes = stored(session, rows, turn)
        if rows[0]["source_id"] == "c-12":  # the third chunk, written but not committed
            time.sleep(0.5)  # the chunk behind it has its rows written meanwhile
            raise RuntimeError("disk full")
        return outcomes

    monkeypatch.setattr(imports, "store", failing)
    lines = [asterisk_line(tenant.tenant_id, "0712345678", 65, f"c-{n}") for n in range(40)]
    with pytest.raises(RuntimeError, match="disk full"):
        import_lines(runtime, "asterisk", lines, chunk=CHUNK)
    kept = sorted(int(r.source_id.split("-")[1]) for r in rows(sessions, tenant.tenant_id))
    assert kept == list(range(12))  # the first two chunks, nothing after the failed one
