"""Through `billing serve`: security headers as the server sends them, the /docs page and
its assets under its CSP, another tenant's object answered 404 before its body is read,
and a replayed key creation that shows no key."""

from __future__ import annotations

import re

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_headers_docs_isolation_and_replays_over_real_http(live_url, admin, make_tenant):
    owner, intruder = make_tenant(), make_tenant()

    wallet = requests.get(f"{live_url}/v1/wallet", headers=owner.headers, timeout=10)
    assert wallet.status_code == 200
    for name, value in {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }.items():
        assert wallet.headers.get(name) == value, name

    docs = requests.get(f"{live_url}/docs", timeout=10)
    assert docs.status_code == 200 and "sha256-" in docs.headers["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', docs.text):
        assert requests.get(f"{live_url}{asset}", timeout=10).status_code == 200, asset
    assert requests.get(f"{live_url}/openapi.json", timeout=10).json()["paths"]

    # a tenant_admin of another tenant, with a body the schema would refuse: 404, not 422
    patched = requests.patch(
        f"{live_url}/v1/tenants/{owner.tenant_id}",
        json={"language": "klingon"},
        headers=intruder.headers,
        timeout=10,
    )
    assert patched.status_code == 404
    assert patched.headers["Content-Type"] == "application/problem+json"

    headers = {**owner.headers, "Idempotency-Key": "e2e-reporting-key"}
    path = f"{live_url}/v1/tenants/{owner.tenant_id}/api-keys"
    first = requests.post(path, json={"role": "tenant_user"}, headers=headers, timeout=10)
    again = requests.post(path, json={"role": "tenant_user"}, headers=headers, timeout=10)
    assert first.status_code == again.status_code == 201
    assert first.json()["api_key"].startswith("mlp_")
    assert again.json()["api_key"] is None and again.json()["api_key_shown_once"] is True
