"""The privacy step of `billing demo`: the tenant's data export, downloaded and checked
against its manifest; a second tenant asks for erasure, an admin approves, and the
report says what was pseudonymised and what the law keeps."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

Call = Callable[..., dict]


def privacy_step(
    http: Any, url: str, call: Call, admin_key: str, tenant_key: str, tenant_id: str,
    say: Callable[[str], None],
) -> None:  # fmt: skip
    export = call("POST", f"/v1/tenants/{tenant_id}/exports", tenant_key)
    export = call("GET", f"/v1/exports/{export['id']}", tenant_key)
    archive = http.get(f"{url}{export['download_url']}", timeout=60,
                       headers={"Authorization": f"Bearer {tenant_key}"})  # fmt: skip
    files = zipfile.ZipFile(io.BytesIO(archive.content))
    manifest = json.loads(files.read("manifest.json"))
    intact = all(hashlib.sha256(files.read(name)).hexdigest() == entry["sha256"]
                 for name, entry in manifest["files"].items())  # fmt: skip
    counts = {k: v for k, v in manifest["counts"].items() if v}
    say(f"  export {export['id']}: {len(archive.content):,} bytes, {len(manifest['files'])} files,"
        f" checksums {'hold' if intact else 'DO NOT HOLD'}; rows {counts}")  # fmt: skip
    other = call("GET", f"/v1/exports/{export['id']}", admin_key, quiet=True)
    say(f"  the same export asked for with another key → {other.get('status', 404)}")

    leaving = call("POST", "/v1/tenants", admin_key, {
        "name": "Duka la Zamani", "email": "zamani@duka.co.tz", "msisdn": "0754 321 987",
        "billing_mode": "prepaid", "currency": "TZS",
    })  # fmt: skip
    asked = call("POST", f"/v1/tenants/{leaving['id']}/erasure-requests", leaving["api_key"],
                 {"note": "closing the shop"})  # fmt: skip
    call("POST", f"/v1/erasure-requests/{asked['id']}/approve", admin_key, {})
    done = call("GET", f"/v1/erasure-requests/{asked['id']}", admin_key)
    tenant = call("GET", f"/v1/tenants/{leaving['id']}", admin_key, quiet=True)
    say(f"  erasure {done['status']}: tenant {tenant['status']}, e-mail now {tenant['email']},"
        f" phone {tenant['msisdn']}; pseudonymised {done['report']['pseudonymised']}")  # fmt: skip
    say(f"  kept by law: {', '.join(done['report']['kept'])}")
