"""A large CDR file stored by several processes at once (billing.usage.storers): the same
rows, debits and summary as one process gives, and a storer's failure stops the import."""

from __future__ import annotations

import multiprocessing
import os
import uuid

import pytest
from sqlalchemy import func, select

from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET
from billing.usage.models import UsageRecord
from billing.usage.tally import RATED
from tests.integration.usage.conftest import rows
from tests.integration.usage.test_import_and_list import asterisk_line

pytestmark = pytest.mark.integration


def mixed_file(tenant_id: str, run: str) -> tuple[str, list[str]]:
    """25 rows, chunks of 4 in the tests: rated calls, rows no rate covers, a row of an
    account no tenant has, malformed rows, and the first row again near the end (in a
    chunk another storer takes)."""
    ids = [f"{run}.{n}" for n in range(20)]
    lines = [asterisk_line(tenant_id, "0712345678", 30 + n, uid) for n, uid in enumerate(ids)]
    lines[3] = asterisk_line(tenant_id, "+999 1234 5678", 30, ids[3])  # no destination
    lines[9] = asterisk_line(tenant_id, "112", 30, ids[9])  # a short number
    lines[14] = asterisk_line("ten_NOBODY", "0712345678", 30, ids[14])  # unknown tenant
    lines[6:6] = [f'"broken","{run}"\n']
    lines[17:17] = [f'"broken again","{run}"\n']
    lines += [asterisk_line(tenant_id, "0712345678", 65, ids[0])]  # a resend
    lines += [asterisk_line(tenant_id, "0754000222", 40, f"{run}.tail.{n}") for n in range(2)]
    return "".join(lines), ids


def imported(app, runtime, path, storers: int):
    import billing.usage.imports as imports

    with app.app_context():
        return imports.import_file(runtime, str(path), "asterisk", storers=storers)


def wallet(sessions, tenant_id: str) -> int:
    with sessions() as session:
        return account_balance(session, tenant_id, WALLET, "TZS").balance_minor


@pytest.fixture
def chunked(monkeypatch, tmp_path):
    """Every file counts as large, in chunks of 4; the processes that stored a chunk are
    written down in a file (a forked storer cannot append to this process's lists)."""
    import billing.usage.imports as imports

    monkeypatch.setattr(imports, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(imports, "CHUNK", 4)
    log = tmp_path / "storers.log"
    store = imports._store

    def noted(runtime, rows, prepriced):
        with log.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return store(runtime, rows, prepriced)

    monkeypatch.setattr(imports, "_store", noted)
    return lambda: log.read_text().split() if log.exists() else []


def test_three_storers_store_count_and_debit_as_one_process_does(
    app, runtime, rated_tenant, sessions, tmp_path, chunked
):
    # Wallets that pay for every call: a short one pays the chunks in the order they settle.
    alone, together = rated_tenant(100_000_00), rated_tenant(100_000_00)
    run = uuid.uuid4().hex[:8]
    summaries, pids = {}, {}
    for tenant, storers in ((alone, 1), (together, 3)):
        text, _ = mixed_file(tenant.tenant_id, f"{run}{storers}")
        path = tmp_path / f"Master{storers}.csv"
        path.write_text(text)
        summaries[storers] = imported(app, runtime, path, storers)
        pids[storers] = set(chunked())
        (tmp_path / "storers.log").unlink()

    assert pids[1] == {str(os.getpid())}
    assert len(pids[3]) == 3 and str(os.getpid()) not in pids[3]
    one, three = summaries[1], summaries[3]
    assert (three.rows, three.rated, three.duplicates, three.malformed) == (25, 19, 1, 2)
    assert three.not_rateable == one.not_rateable == {
        "no_destination": 1, "short_number": 1, "unknown_tenant": 1
    }  # fmt: skip
    assert (one.rows, one.rated, one.duplicates, one.malformed) == (25, 19, 1, 2)
    reasons = [sample["reason"] for sample in three.rejected_samples]  # lines told
    assert reasons == [sample["reason"] for sample in one.rejected_samples]  # in file order
    assert len(reasons) == 5 and reasons[1].startswith("malformed: line 7")
    assert wallet(sessions, together.tenant_id) == wallet(sessions, alone.tenant_id) < 100_000_00
    stored = rows(sessions, together.tenant_id)
    assert len(stored) == len({r.source_id for r in stored}) == 21  # each row once
    assert multiprocessing.active_children() == []


def test_a_storer_that_fails_stops_the_import_and_a_reimport_stores_the_rest(
    app, runtime, rated_tenant, sessions, tmp_path, chunked, monkeypatch
):
    import billing.usage.imports as imports

    tenant = rated_tenant(100_000_00)  # every call paid, whichever chunk settles first
    text, ids = mixed_file(tenant.tenant_id, uuid.uuid4().hex[:8])
    path = tmp_path / "Master.csv"
    path.write_text(text)
    poisoned = ids[12]  # the fourth chunk's: the storer of chunks 0, 3, 6 fails there
    store = imports._store

    def failing(runtime, rows, prepriced):
        if any(row["source_id"] == poisoned for row in rows):
            raise RuntimeError(f"planted in process {os.getpid()}")
        return store(runtime, rows, prepriced)

    monkeypatch.setattr(imports, "_store", failing)
    with pytest.raises(RuntimeError, match="planted in process") as failure:
        imported(app, runtime, path, 3)
    assert str(os.getpid()) not in str(failure.value)  # it failed in a storer
    assert multiprocessing.active_children() == []  # the others and the parser stopped
    committed = rows(sessions, tenant.tenant_id)
    assert poisoned not in {r.source_id for r in committed}
    rated_before = sum(r.status in RATED for r in committed)

    monkeypatch.setattr(imports, "_store", store)
    again = imported(app, runtime, path, 3)
    stored = rows(sessions, tenant.tenant_id)
    assert len(stored) == len({r.source_id for r in stored}) == 21
    assert again.rows == 25 and rated_before + again.rated == 19  # none rated twice
    with sessions() as session:  # nothing stored twice across both imports
        assert (
            session.execute(
                select(func.count()).where(UsageRecord.tenant_id == tenant.tenant_id)
            ).scalar_one()
            == 21
        )
