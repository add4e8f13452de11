"""CDR files through the API and the CLI, and GET /v1/usage with filters and totals."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from billing.tenants.models import BillingMode
from tests.integration.usage.conftest import cdr, rows, send

pytestmark = pytest.mark.integration
BILLING = str(Path(sys.executable).parent / "billing")


def asterisk_line(account: str, dst: str, billsec: int, uniqueid: str, answer: str = "") -> str:
    """A Master.csv row as cdr_csv writes it (loguniqueid, loguserfield), Dar local time."""
    answered = answer or ("2026-03-02 09:00:05" if billsec else "")
    disposition = "ANSWERED" if billsec else "NO ANSWER"
    fields = [
        f'"{account}"', '"255754000111"', f'"{dst}"', '"from-internal"',
        '"""Duka"" <255754000111>"', '"PJSIP/duka-0001"', '"PJSIP/trunk-0002"', '"Dial"',
        '"PJSIP/trunk/' + dst + ',60"', '"2026-03-02 09:00:00"',
        f'"{answered}"' if answered else "", '"2026-03-02 09:01:15"', "75", str(billsec),
        f'"{disposition}"', '"DOCUMENTATION"', f'"{uniqueid}"', '""',
    ]  # fmt: skip
    return ",".join(fields) + "\n"


def csv_file(tenant_id: str, count: int) -> tuple[str, list[str]]:
    ids = [f"{uuid.uuid4().hex[:10]}.{n}" for n in range(count)]
    lines = [asterisk_line(tenant_id, "0712345678", 65, uid) for uid in ids]
    lines.append('"broken","row"\n')
    return "".join(lines), ids


def test_an_asterisk_file_upload_is_stored_rated_and_reimported_as_duplicates(
    client, admin, rated_tenant, sessions
):
    tenant = rated_tenant()
    text, ids = csv_file(tenant.tenant_id, 5)
    response = client.post(
        "/v1/usage/cdrs/import?format=asterisk",
        data={"file": (io.BytesIO(text.encode()), "Master.csv")},
        headers=admin.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    summary = response.get_json()
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (6, 5, 1)
    assert "expected 18 columns" in summary["rejected_samples"][0]["reason"]
    stored = rows(sessions, tenant.tenant_id)
    assert [r.source_id for r in stored] == ids
    assert {(r.status, r.net_minor, r.source_system) for r in stored} == {
        ("billed", 75_83, "asterisk")
    }
    again = client.post(
        "/v1/usage/cdrs/import?format=asterisk",
        data=text.encode(),
        headers=admin.headers,
        content_type="text/csv",
    )
    assert again.get_json()["duplicates"] == 6  # the broken row too: kept once


def test_an_import_needs_a_known_format_and_a_file(client, admin):
    bad = client.post("/v1/usage/cdrs/import?format=cisco", data=b"x", headers=admin.headers,
                      content_type="text/csv")  # fmt: skip
    assert bad.status_code == 422 and "format" in bad.get_json()["errors"]
    none = client.post("/v1/usage/cdrs/import?format=generic", json={}, headers=admin.headers)
    assert none.status_code == 422 and "file" in none.get_json()["errors"]


def test_the_cli_imports_a_file(tmp_path, rated_tenant, sessions, database_url):
    tenant = rated_tenant()
    text, ids = csv_file(tenant.tenant_id, 3)
    path = tmp_path / "Master.csv"
    path.write_text(text)
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [BILLING, "import-cdrs", str(path), "--format", "asterisk"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "4 rows: 3 rated, 0 not rateable, 1 malformed, 0 duplicates" in done.stdout
    assert [r.source_id for r in rows(sessions, tenant.tenant_id)] == ids


def test_usage_lists_filter_total_and_page(client, admin, rated_tenant, make_tenant):
    tenant = rated_tenant(balance=10_000_00)
    other = rated_tenant()
    send(
        client,
        admin,
        [
            cdr(tenant.tenant_id),
            cdr(tenant.tenant_id, callee="0754 000 222"),  # Vodacom
            cdr(tenant.tenant_id, started_at="2026-04-02T09:00:00+03:00",
                answered_at="2026-04-02T09:00:05+03:00"),
            cdr(other.tenant_id),
        ],
    )  # fmt: skip
    march = client.get("/v1/usage?start=2026-03-01&end=2026-03-31", headers=tenant.headers)
    body = march.get_json()
    assert march.status_code == 200, body
    assert len(body["items"]) == 2
    assert body["totals"] == {
        "records": 2, "billed_units": 130, "net": 2 * 75_83, "vat": 2 * 13_65, "currency": "TZS",
    }  # fmt: skip
    yas = client.get("/v1/usage?destination=25571", headers=tenant.headers).get_json()
    assert [i["zone"] for i in yas["items"]] == ["TZ-MOB-YAS", "TZ-MOB-YAS"]
    by_zone = client.get("/v1/usage?destination=TZ-MOB-VODACOM", headers=tenant.headers)
    assert by_zone.get_json()["totals"]["records"] == 1
    first = client.get("/v1/usage?limit=2", headers=tenant.headers).get_json()
    second = client.get(
        f"/v1/usage?limit=2&cursor={first['next_cursor']}", headers=tenant.headers
    ).get_json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_cursor"] is None
    assert first["totals"]["records"] == 3
    item = second["items"][0]
    assert item["breakdown"]["pieces"] and item["plan_version"] == 1
    # Tenants see their own; staff any.
    theirs = client.get(f"/v1/usage?tenant_id={other.tenant_id}", headers=tenant.headers)
    assert theirs.status_code == 404
    staff = client.get(f"/v1/usage?tenant_id={other.tenant_id}", headers=admin.headers)
    assert staff.get_json()["totals"]["records"] == 1
    assert client.get("/v1/usage?service=fax", headers=admin.headers).status_code == 422
    assert client.get("/v1/usage?cursor=zzz", headers=admin.headers).status_code == 422


def test_generic_and_freeswitch_files_import_for_the_named_tenant(
    client, admin, rated_tenant, sessions
):
    tenant = rated_tenant(billing_mode=BillingMode.POSTPAID, balance=0)
    generic = (
        "source_id,service,to,started_at,answered_at,billable_s,units,category\n"
        f"g-{uuid.uuid4().hex},voice,0712345678,2026-03-02 09:00:00,2026-03-02 09:00:05,65,,\n"
        f"g-{uuid.uuid4().hex},sms,+255754000222,2026-03-02T09:00:00+03:00,,,2,\n"
    )
    uid = str(uuid.uuid4())
    freeswitch = (
        '"Duka","255754000111","0712345678","default","2026-03-02 09:00:00",'
        f'"2026-03-02 09:00:05","2026-03-02 09:01:15","75","65","NORMAL_CLEARING","{uid}",'
        '"","","PCMA","PCMA"\n'
    )
    for fmt, text in (("generic", generic), ("freeswitch", freeswitch)):
        response = client.post(
            f"/v1/usage/cdrs/import?format={fmt}&tenant_id={tenant.tenant_id}",
            data=text.encode(),
            headers=admin.headers,
            content_type="text/csv",
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["rejected"] == 0
    stored = rows(sessions, tenant.tenant_id)
    assert [(r.source_system, r.service, r.status, r.net_minor) for r in stored] == [
        ("generic", "voice", "accrued", 75_83),
        ("generic", "sms", "accrued", 44_00),
        ("freeswitch", "voice", "accrued", 75_83),
    ]


def test_an_asterisk_file_with_every_optional_column_in_utc(client, admin, rated_tenant, sessions):
    tenant = rated_tenant()
    uid = uuid.uuid4().hex
    # 21 columns (newcdrcolumns=yes adds peeraccount, linkedid, sequence), usegmtime=yes:
    # 06:00:05 UTC is 09:00:05 in Dar es Salaam, peak time.
    row = asterisk_line(tenant.tenant_id, "0712345678", 65, uid, answer="2026-03-02 06:00:05")
    row = row.rstrip("\n") + f',"","{uid}","7"\n'
    response = client.post(
        "/v1/usage/cdrs/import?format=asterisk&newcdrcolumns=true&usegmtime=true",
        data=row.encode(),
        headers=admin.headers,
        content_type="text/csv",
    )
    assert response.get_json()["accepted"] == 1, response.get_json()
    [stored] = rows(sessions, tenant.tenant_id)
    assert (stored.linked_id, stored.band, stored.net_minor) == (uid, "peak", 75_83)
    assert stored.answered_at.isoformat() == "2026-03-02T06:00:05+00:00"
    wrong = client.post(
        "/v1/usage/cdrs/import?format=asterisk&timezone=Mars/Olympus",
        data=row.encode(),
        headers=admin.headers,
        content_type="text/csv",
    )
    assert wrong.status_code == 422 and "timezone" in wrong.get_json()["errors"]


def test_a_large_file_is_parsed_in_a_second_process_with_the_same_outcomes(
    tmp_path, app, runtime, rated_tenant, sessions, monkeypatch
):
    import billing.usage.imports as imports

    monkeypatch.setattr(imports, "PARALLEL_BYTES", 0)  # every file counts as large
    monkeypatch.setattr(imports, "CHUNK", 4)  # several chunks, the last one short
    tenant = rated_tenant()
    text, ids = csv_file(tenant.tenant_id, 9)
    text += asterisk_line(tenant.tenant_id, "0712345678", 65, ids[0])  # a resend in the file
    path = tmp_path / "Master.csv"
    path.write_text(text)
    with app.app_context():  # stored here (several storers: test_import_by_processes)
        summary = imports.import_file(runtime, str(path), "asterisk", show_progress=True, storers=1)
    assert (summary.rows, summary.accepted, summary.rejected, summary.duplicates) == (11, 9, 1, 1)
    stored = rows(sessions, tenant.tenant_id)
    assert [r.source_id for r in stored] == ids
    assert {(r.status, r.net_minor) for r in stored} == {("billed", 75_83)}
    with app.app_context():  # again, parsed in this process: every row a duplicate
        monkeypatch.setattr(imports, "PARALLEL_BYTES", 1 << 40)
        again = imports.import_file(runtime, str(path), "asterisk")
    assert (again.rows, again.duplicates) == (11, 11)


def test_a_file_the_second_process_cannot_read_fails_the_import(
    tmp_path, app, runtime, monkeypatch
):
    import billing.usage.imports as imports

    monkeypatch.setattr(imports, "PARALLEL_BYTES", 0)
    with app.app_context(), pytest.raises(IsADirectoryError):  # raised in the child, here
        imports.import_file(runtime, str(tmp_path), "asterisk")


def truthful_file(tenant_id: str) -> str:
    """Two rated calls, one to a number no destination covers, one to a short number, one
    of an account no tenant has, a malformed row, and a resent row."""
    run = uuid.uuid4().hex[:8]
    lines = [
        asterisk_line(tenant_id, "0712345678", 65, f"{run}.1"),
        asterisk_line(tenant_id, "0754000222", 30, f"{run}.2"),
        asterisk_line(tenant_id, "+999 1234 5678", 30, f"{run}.3"),  # no destination
        asterisk_line(tenant_id, "112", 30, f"{run}.4"),  # short number
        asterisk_line("ten_NOBODY", "0712345678", 30, f"{run}.5"),  # unknown tenant
        f'"broken","{run}"\n',
        asterisk_line(tenant_id, "0712345678", 65, f"{run}.1"),  # the first, resent
    ]
    return "".join(lines)


EXPECTED = {
    "rows": 7, "rated": 2, "pending": 0, "updated": 0, "malformed": 1, "duplicates": 1,
    "not_rateable": {"no_destination": 1, "short_number": 1, "unknown_tenant": 1},
    "accepted": 2, "rejected": 4,
}  # fmt: skip


def test_the_import_summary_tells_rated_not_rateable_malformed_and_duplicates_apart(
    client, admin, rated_tenant, sessions, tmp_path, database_url
):
    """Issue 19: rows stored as not rateable were counted accepted; GET /v1/usage lists
    them rejected. The API, the CLI and the list now say the same."""
    tenant = rated_tenant()
    response = client.post(
        "/v1/usage/cdrs/import?format=asterisk", data=truthful_file(tenant.tenant_id).encode(),
        headers=admin.headers, content_type="text/csv",
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    summary = response.get_json()
    assert {name: summary[name] for name in EXPECTED} == EXPECTED
    listed = client.get(
        f"/v1/usage?tenant_id={tenant.tenant_id}&status=rejected", headers=admin.headers
    ).get_json()
    rejected_listed = {item["reason"].split(":")[0] for item in listed["items"]}
    assert rejected_listed >= {"no_destination", "short_number"}  # the tenant's own
    billed = client.get(
        f"/v1/usage?tenant_id={tenant.tenant_id}&status=billed", headers=admin.headers
    ).get_json()
    assert billed["totals"]["records"] == summary["rated"]

    other = rated_tenant()
    path = tmp_path / "Master.csv"
    path.write_text(truthful_file(other.tenant_id))
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [BILLING, "import-cdrs", str(path), "--format", "asterisk"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "7 rows: 2 rated, 3 not rateable (no_destination: 1, short_number: 1, unknown_tenant: 1),"
        " 1 malformed, 1 duplicates"
    ) in done.stdout


def test_a_batch_answers_each_record_as_stored(client, admin, rated_tenant):
    tenant = rated_tenant()
    result = send(client, admin, [cdr(tenant.tenant_id), cdr(tenant.tenant_id, callee="112")])
    assert [(r["status"], r["usage_status"], r["reason"]) for r in result["results"]] == [
        ("accepted", "billed", None), ("rejected", "rejected", "short_number"),
    ]  # fmt: skip
    assert (result["rated"], result["not_rateable"], result["rejected"]) == (
        1, {"short_number": 1}, 1,
    )  # fmt: skip
