"""The audit trail's hash chains: written at commit, linked under concurrent writers,
and `billing audit verify` names the first link a database owner tampered with."""

from __future__ import annotations

import itertools
import threading
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select, text
from sqlalchemy.orm import sessionmaker

from billing.audit.models import AuditEvent
from billing.audit.service import record
from billing.audit.verify import verify
from billing.cli import main
from billing.core.db import make_engine

pytestmark = pytest.mark.integration


def _chain(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


def _write(runtime, tenant_id: str, n: int, actor: str = "stf_test") -> None:
    with runtime.unit_of_work() as session:
        for i in range(n):
            record(
                session,
                actor=actor,
                action="test.step",
                subject_type="tenant",
                subject_id=tenant_id,
                tenant_id=tenant_id,
                detail={"i": i, "amount": 10**12},
            )


@pytest.fixture
def owner_sessions(owner_database_url):
    """The schema owner's sessions (row-level security binds it too: it says it is the
    system, as a migration would)."""
    engine = make_engine(owner_database_url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(
        factory,
        "after_begin",
        lambda _s, _t, connection: connection.execute(
            text("SELECT set_config('malipo.scope', 'system', true)")
        ),
    )
    yield factory
    engine.dispose()


def test_events_are_linked_in_order_and_a_rollback_leaves_no_link(runtime, sessions):
    tenant_id = f"ten_{uuid.uuid4().hex[:12]}"
    _write(runtime, tenant_id, 3)
    with pytest.raises(RuntimeError), runtime.unit_of_work() as session:
        record(
            session,
            actor="x",
            action="test.lost",
            subject_type="tenant",
            subject_id=tenant_id,
            tenant_id=tenant_id,
        )
        raise RuntimeError("the change fails: its audit event goes with it")
    with runtime.unit_of_work() as session:
        with pytest.raises(RuntimeError), session.begin_nested():
            record(
                session,
                actor="x",
                action="test.savepoint",
                subject_type="tenant",
                subject_id=tenant_id,
                tenant_id=tenant_id,
            )
            raise RuntimeError("rolled back to the savepoint")
        record(
            session,
            actor="x",
            action="test.kept",
            subject_type="tenant",
            subject_id=tenant_id,
            tenant_id=tenant_id,
        )
    with sessions() as session:
        rows = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.chain == _chain(tenant_id))
                .order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
        assert [r.action for r in rows] == ["test.step"] * 3 + ["test.kept"]
        assert [r.seq for r in rows] == [1, 2, 3, 4]
        assert rows[0].prev_hash is None
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
        report = verify(session, _chain(tenant_id))
    assert report.intact and report.events == 4


def test_a_savepoint_released_waits_for_the_commit_and_a_bare_rollback_drops_all(runtime, sessions):
    tenant_id = f"ten_{uuid.uuid4().hex[:12]}"
    with sessions() as session:  # recorded before anything began the transaction
        record(session, actor="x", action="test.dropped", subject_type="tenant",
               subject_id=tenant_id, tenant_id=tenant_id)  # fmt: skip
        session.rollback()
        session.commit()  # an empty commit writes nothing left over
    with runtime.unit_of_work() as session:
        with session.begin_nested():
            record(session, actor="x", action="test.nested", subject_type="tenant",
                   subject_id=tenant_id, tenant_id=tenant_id)  # fmt: skip
        with sessions() as other:  # the savepoint is released: nothing written yet
            assert (
                other.execute(
                    select(AuditEvent.id).where(AuditEvent.chain == _chain(tenant_id))
                ).all()
                == []
            )
    with sessions() as session:
        actions = session.execute(
            select(AuditEvent.action).where(AuditEvent.chain == _chain(tenant_id))
        ).scalars().all()  # fmt: skip
    assert actions == ["test.nested"]


def test_concurrent_writers_of_one_chain_never_fork_it(runtime, sessions):
    tenant_id = f"ten_{uuid.uuid4().hex[:12]}"
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                _write(runtime, tenant_id, 2, actor=f"stf_{k}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        report = verify(session, _chain(tenant_id))
        seqs = (
            session.execute(select(AuditEvent.seq).where(AuditEvent.chain == _chain(tenant_id)))
            .scalars()
            .all()
        )
    assert report.intact, report.broken
    assert sorted(seqs) == list(range(1, 81))


def test_verify_names_the_row_an_owner_edited(runtime, sessions, owner_sessions, app):
    tenant_id = f"ten_{uuid.uuid4().hex[:12]}"
    _write(runtime, tenant_id, 5)
    with sessions() as session:
        target = session.execute(
            select(AuditEvent.id, AuditEvent.seq).where(
                AuditEvent.chain == _chain(tenant_id), AuditEvent.seq == 3
            )
        ).one()
    # As the database owner, past the append-only trigger (only this test's connection).
    with owner_sessions.begin() as session:
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        session.execute(
            text("UPDATE audit_events SET detail = CAST(:d AS json) WHERE id = :id"),
            {"d": '{"i": 2, "amount": 1}', "id": target.id},
        )
        session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    with sessions() as session:
        report = verify(session, _chain(tenant_id))
    assert not report.intact
    [broken] = report.broken
    assert (broken.event_id, broken.seq) == (target.id, 3)
    assert "content" in broken.problem
    runner = CliRunner()
    result = runner.invoke(
        main, ["audit", "verify", "--chain", _chain(tenant_id)], obj=_script_info(app)
    )
    assert result.exit_code == 1
    assert f"audit event {target.id}" in result.output and "link 3" in result.output


def test_verify_finds_a_deleted_row_at_the_link_after_it(runtime, sessions, owner_sessions, app):
    tenant_id = f"ten_{uuid.uuid4().hex[:12]}"
    _write(runtime, tenant_id, 4)
    with sessions() as session:
        ids = (
            session.execute(
                select(AuditEvent.id)
                .where(AuditEvent.chain == _chain(tenant_id))
                .order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
    with owner_sessions.begin() as session:
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
        session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    with sessions() as session:
        [broken] = verify(session, _chain(tenant_id)).broken
    assert broken.event_id == ids[2]
    result = CliRunner().invoke(
        main, ["audit", "verify", "--chain", _chain(tenant_id)], obj=_script_info(app)
    )
    assert result.exit_code == 1, result.output


def test_an_intact_chain_verifies_from_the_command(runtime, app):
    tenant_id = f"ten_{uuid.uuid4().hex[:12]}"
    _write(runtime, tenant_id, 2)
    result = CliRunner().invoke(
        main, ["audit", "verify", "--chain", _chain(tenant_id), "--heads"], obj=_script_info(app)
    )
    assert result.exit_code == 0, result.output
    assert "audit trail intact" in result.output


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
