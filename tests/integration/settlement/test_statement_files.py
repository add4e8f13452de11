# ruff: noqa: E501  (statement lines read best whole)
"""Bad statement files are refused whole with a problem naming the line and column; the
same file sent twice at once is one import; the CLI and the daily drop-folder job."""

from __future__ import annotations

import io
import subprocess
import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from billing import create_app
from billing.core.config import Settings
from billing.runtime import EXTENSION
from billing.settlement.formats.mpesa import HEADER
from billing.settlement.jobs import import_file, request_daily_reconciliation, statement_path
from billing.settlement.models import Statement, StatementLine
from billing.settlement.service import import_statement
from tests.e2e.conftest import BILLING
from tests.integration.settlement.statements import (
    a_day,
    make_topup,
    mpesa_paid,
    mpesa_statement,
    mpesa_unknown,
)
from tests.integration.settlement.test_reconciliation import upload

pytestmark = pytest.mark.integration


def statements(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Statement))


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (f"{HEADER}\nR1,01-12-2026 10:00:00,,Pay Bill,Completed,12x,,,,,,,\n", "Paid In",
         "line 2: not an amount: '12x'"),
        (f"{HEADER}\n" + "R1,01-12-2026 10:00:00,,Pay Bill,Completed,1.00,,,,,,,\n" * 3
         + "R9,yesterday,,Pay Bill,Completed,1.00,,,,,,,\n", "Completion Time", "line 5: "),
        ("Date,Amount\n2026-12-01,1\n", "file", "no header row"),
        (f"{HEADER}\n", "file", "no lines"),
        ("", "file", "no header row"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_naming_the_line_and_column(client, finance, sessions, body, field, says):  # fmt: skip
    before = statements(sessions)
    refused = upload(client, finance, body.encode())
    assert refused.status_code == 422, refused.get_json()
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert says in problem["errors"][field][0], problem
    assert statements(sessions) == before  # all or nothing


def test_what_is_not_a_statement_is_a_4xx_never_a_500(client, finance, sessions):
    before = statements(sessions)
    for body, field in (
        (b"\xff\xfe\x00R\x00e\x00c", "file"),  # UTF-16, not UTF-8
        (HEADER.encode() + b"\nR1,01-12-2026 10:00:00,,Pay,Completed,1.00\x00,,,,,,,\n", "Paid In"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "file"),
    ):
        refused = upload(client, finance, body)
        assert refused.status_code == 422, refused.get_json()
        assert field in refused.get_json()["errors"], refused.get_json()
    nothing = client.post("/v1/reconciliations?provider=mpesa", headers=finance.headers)
    assert nothing.status_code == 422 and "file" in nothing.get_json()["errors"]
    unknown = upload(client, finance, b"x", provider="visa")
    assert unknown.status_code == 422 and "provider" in unknown.get_json()["errors"]
    assert statements(sessions) == before


def test_a_statement_over_the_size_limit_is_413(database_url, finance, sessions):
    app = create_app(Settings(database_url=database_url, testing=True, statement_max_bytes=1000))
    body = mpesa_statement(
        a_day(), [mpesa_unknown(f"R{i:08d}", "X", a_day(), 100) for i in range(30)]
    )
    refused = upload(app.test_client(), finance, body)
    assert refused.status_code == 413 and refused.mimetype == "application/problem+json"


def test_the_same_file_sent_twice_at_once_is_one_import(runtime, tenant, sessions):
    day = a_day()
    topup = make_topup(runtime, tenant.tenant_id, day, amount=1_000_00)
    body = mpesa_statement(day, [mpesa_paid(topup, day)])
    results, barrier = [], threading.Barrier(2)

    def send() -> None:
        barrier.wait()
        with runtime.unit_of_work() as session:
            results.append(
                import_statement(
                    session,
                    fmt="mpesa",
                    source=io.BytesIO(body),
                    filename="twice.csv",
                    actor="test",
                )
            )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.reimported for r in results) == [False, True]
    assert results[0].statement.id == results[1].statement.id
    with sessions() as session:
        matched = session.scalar(
            select(func.count())
            .select_from(StatementLine)
            .where(StatementLine.topup_id == topup.id)
        )
    assert matched == 1


def test_the_cli_reconciles_a_file_and_prints_the_summary(tmp_path, runtime, tenant, database_url):
    day = a_day()
    topup = make_topup(runtime, tenant.tenant_id, day, amount=2_500_00)
    path = tmp_path / "mpesa.csv"
    path.write_bytes(
        mpesa_statement(day, [mpesa_paid(topup, day), mpesa_unknown("ZZ1", "NOPE", day, 100_00)])
    )
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([BILLING, "reconcile", "--provider", "mpesa", str(path)],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 lines" in done.stdout and "1 matched, 1 unknown payment" in done.stdout
    assert "1 exception(s) sent to the review queue" in done.stdout
    assert "TZS 2,500.00" in done.stdout
    again = subprocess.run([BILLING, "reconcile", "--provider", "mpesa", str(path)],
                           env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "already imported" in again.stdout
    summary = subprocess.run([BILLING, "settlement-summary", "--day", day.isoformat()],
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "mpesa" in summary.stdout and "unknown payment" in summary.stdout
    path.write_text("not,a,statement\n")
    bad = subprocess.run([BILLING, "reconcile", "--provider", "mpesa", str(path)],
                         env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 1 and "refused" in bad.stderr


def test_the_daily_job_imports_yesterdays_statements_from_the_drop_folder(tmp_path, app, runtime, tenant, sessions):  # fmt: skip
    day = a_day()
    topup = make_topup(runtime, tenant.tenant_id, day, amount=4_000_00)
    drop = replace(runtime, settings=replace(runtime.settings, settlement_dir=str(tmp_path)))
    assert request_daily_reconciliation(drop, day) == []  # nothing delivered yet
    path = statement_path(str(tmp_path), "mpesa", day)
    with open(path, "wb") as handle:
        handle.write(mpesa_statement(day, [mpesa_paid(topup, day)]))
    with app.app_context():
        assert request_daily_reconciliation(drop, day) == [path]  # the job runs in-process
        assert request_daily_reconciliation(drop, day) == []  # imported: not asked again
    with sessions() as session:
        line = session.execute(
            select(StatementLine).where(StatementLine.topup_id == topup.id)
        ).scalar_one()
    assert line.outcome == "matched"
    assert app.extensions[EXTENSION] is runtime
    again = import_file(runtime, path, "mpesa", actor="test")
    assert again.reimported


def test_a_statement_as_a_text_csv_body(client, finance, runtime, tenant):
    day = a_day()
    topup = make_topup(runtime, tenant.tenant_id, day, amount=1_500_00)
    answer = client.post(
        "/v1/reconciliations?provider=mpesa",
        data=mpesa_statement(day, [mpesa_paid(topup, day)]),
        headers={**finance.headers, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["totals"]["outcomes"] == {"matched": 1}
    listed = client.get("/v1/reconciliations?provider=mpesa&limit=5", headers=finance.headers)
    assert answer.get_json()["id"] in {s["id"] for s in listed.get_json()}
