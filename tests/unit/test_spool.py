"""The durable spool: whole files only, synced to disk, each drained once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from billing.core import spool as spool_module
from billing.core.spool import Spool


class Unavailable(Exception):
    pass


def test_a_spooled_document_is_fsynced_renamed_into_place_and_its_directory_synced(
    tmp_path, monkeypatch
):
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(spool_module.os, "fsync", recording_fsync)
    spool = Spool(tmp_path / "spool")
    path = spool.put("0001-tigopesa-abc", {"a": 1})
    assert path.parent == tmp_path / "spool" and path.name.endswith(".json")
    temporary, directory = synced
    assert temporary.endswith(".tmp") and Path(temporary).parent == path.parent  # file first
    assert directory == str(path.parent)  # then the directory, after the rename
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_half_written_temporary_file_is_never_drained(tmp_path):
    spool = Spool(tmp_path)
    (tmp_path / ".0001-x.json.tmp").write_text('{"torn": ')
    assert spool.count() == 0
    assert spool.drain(lambda doc: pytest.fail("drained a torn file"), (Unavailable,)).stored == 0


def test_a_drain_stores_each_document_once_in_order_and_empties_the_spool(tmp_path):
    spool = Spool(tmp_path)
    for n in range(3):
        spool.put(f"000{n}-p", {"n": n})
    stored: list[int] = []
    drained = spool.drain(lambda doc: stored.append(doc["n"]), (Unavailable,))
    assert stored == [0, 1, 2] and (drained.stored, drained.waiting) == (3, 0)
    assert spool.drain(lambda doc: stored.append(doc["n"]), (Unavailable,)).stored == 0
    assert stored == [0, 1, 2]


def test_an_outage_mid_drain_stops_it_and_keeps_the_rest(tmp_path):
    spool = Spool(tmp_path)
    for n in range(3):
        spool.put(f"000{n}-p", {"n": n})
    stored: list[int] = []

    def store(doc: dict) -> None:
        if doc["n"] == 1:
            raise Unavailable
        stored.append(doc["n"])

    drained = spool.drain(store, (Unavailable,))
    assert stored == [0] and (drained.stored, drained.waiting) == (1, 2)


def test_a_document_the_store_refuses_is_parked_not_retried_for_ever(tmp_path):
    spool = Spool(tmp_path)
    spool.put("0001-p", {"n": 1})
    (tmp_path / "0000-garbage.json").write_text("not json")

    def refuse(doc: dict) -> None:
        raise ValueError("bad row")

    drained = spool.drain(refuse, (Unavailable,))
    assert (drained.stored, drained.waiting, drained.parked) == (0, 0, 1)
    assert sorted(p.name[:4] for p in (tmp_path / "parked").iterdir()) == ["0000", "0001"]


def test_a_file_another_drain_holds_is_skipped(tmp_path):
    import fcntl

    spool = Spool(tmp_path)
    path = spool.put("0001-p", {"n": 1})
    with path.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's drain has it
        drained = spool.drain(lambda doc: pytest.fail("taken twice"), (Unavailable,))
    assert (drained.stored, drained.waiting) == (0, 1)
