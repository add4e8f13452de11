"""Exports: the archive holds every record of the tenant and none of another's, its
manifest's checksums hold, only the requesting key may fetch it, and it expires."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from billing.core.clock import utcnow
from billing.privacy.models import DataExport

pytestmark = pytest.mark.integration


def export_for(client, caller, tenant_id):
    started = client.post(f"/v1/tenants/{tenant_id}/exports", headers=caller.headers)
    assert started.status_code == 202, started.get_json()
    export_id = started.get_json()["id"]
    shown = client.get(f"/v1/exports/{export_id}", headers=caller.headers).get_json()
    assert shown["status"] == "ready", shown  # the job ran after the request committed
    return shown


def test_an_export_holds_every_record_of_the_tenant_and_none_of_another(
    client, person, bystander, sessions
):
    tenant = person.caller
    shown = export_for(client, tenant, tenant.tenant_id)
    archive = client.get(shown["download_url"], headers=tenant.headers)
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    assert hashlib.sha256(archive.data).hexdigest() == shown["sha256"]
    zf = zipfile.ZipFile(io.BytesIO(archive.data))
    manifest = json.loads(zf.read("manifest.json"))
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(zf.read(name)).hexdigest() == entry["sha256"], name

    def rows(part: str) -> list[dict]:
        return [json.loads(line) for line in zf.read(f"{part}.jsonl").decode().splitlines()]

    with sessions() as session:  # what the database holds of the tenant, part by part
        held = {
            table: set(session.execute(
                text(f"SELECT id::text FROM {table} WHERE tenant_id = :t"),
                {"t": tenant.tenant_id},
            ).scalars())
            for table in ("topups", "usage_records", "invoices", "ledger_transactions",
                          "audit_events", "review_items", "api_keys")
        }  # fmt: skip
        entries = set(session.execute(text(
            "SELECT e.id::text FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
            " WHERE a.tenant_id = :t"), {"t": tenant.tenant_id}).scalars())  # fmt: skip
    for table, ids in held.items():
        assert ids and {str(row["id"]) for row in rows(table)} == ids, table
    assert {str(row["id"]) for row in rows("ledger_entries")} == entries
    assert len(rows("callback_inbox")) == 1 and rows("tenant")[0]["email"] == person.values["email"]
    assert "secret_sha256" not in zf.read("api_keys.jsonl").decode()
    assert manifest["counts"]["invoice_pdfs"] == len(
        [n for n in zf.namelist() if n.startswith("invoices/") and n.endswith(".pdf")]
    )
    usage_csv = list(csv.DictReader(io.StringIO(zf.read("usage_records.csv").decode())))
    assert {row["id"] for row in usage_csv} == held["usage_records"]

    everything = b"".join(zf.read(name) for name in zf.namelist())
    assert bystander.tenant_id.encode() not in everything


def test_only_the_requesting_key_fetches_and_the_archive_expires(
    client, admin, person, runtime, sessions
):
    tenant = person.caller
    shown = export_for(client, tenant, tenant.tenant_id)
    other_key = client.post(f"/v1/tenants/{tenant.tenant_id}/api-keys", headers=tenant.headers,
                            json={"role": "tenant_admin"}).get_json()["api_key"]  # fmt: skip
    for headers in ({"Authorization": f"Bearer {other_key}"}, admin.headers):
        assert client.get(f"/v1/exports/{shown['id']}", headers=headers).status_code == 404
        assert client.get(shown["download_url"], headers=headers).status_code == 404
    # staff export on their own key
    staff_export = export_for(client, admin, tenant.tenant_id)
    assert client.get(staff_export["download_url"], headers=tenant.headers).status_code == 404

    path = runtime.settings.export_dir + f"/{shown['id']}.zip"
    with runtime.unit_of_work() as session:
        session.execute(update(DataExport).where(DataExport.id == shown["id"])
                        .values(expires_at=utcnow() - timedelta(seconds=1)))  # fmt: skip
    gone = client.get(shown["download_url"], headers=tenant.headers)
    assert gone.status_code == 404
    import os

    assert not os.path.exists(path)
    assert client.get(f"/v1/exports/{shown['id']}", headers=tenant.headers).get_json()[
        "status"] == "expired"  # fmt: skip


def test_another_tenant_cannot_export_or_fetch(client, make_tenant, person):
    intruder = make_tenant()
    assert client.post(f"/v1/tenants/{person.caller.tenant_id}/exports",
                       headers=intruder.headers).status_code == 404  # fmt: skip
    shown = export_for(client, person.caller, person.caller.tenant_id)
    assert client.get(f"/v1/exports/{shown['id']}", headers=intruder.headers).status_code == 404
