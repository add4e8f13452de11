"""Standard security headers on every response: errors, JSON, PDFs and the /docs page."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

pytestmark = pytest.mark.integration

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _assert_everywhere(response) -> None:
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, (name, response.status_code)


def test_an_authenticated_answer_is_never_stored_by_a_cache(client, tenant):
    response = client.get("/v1/wallet", headers=tenant.headers)
    assert response.status_code == 200
    _assert_everywhere(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/v1/wallet", 401),
        ("get", "/v1/no-such-thing", 404),
        ("put", "/v1/wallet", 405),
        ("post", "/v1/tenants", 401),
    ],
)
def test_errors_carry_them_too(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    _assert_everywhere(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_validation_error_of_an_authenticated_request_is_not_cached(client, admin):
    response = client.post("/v1/tenants", json={"name": ""}, headers=admin.headers)
    assert response.status_code == 422
    _assert_everywhere(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_public_answers_carry_them(client):
    for path in ("/healthz", "/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200
        _assert_everywhere(response)


def test_hsts_only_when_served_over_tls(client, tenant):
    secure = client.get("/v1/wallet", headers=tenant.headers, base_url="https://malipo.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = client.get("/v1/wallet", headers=tenant.headers, base_url="http://malipo.test")
    assert "Strict-Transport-Security" not in plain.headers


def test_the_docs_page_has_a_csp_that_still_lets_swagger_ui_run(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    _assert_everywhere(page)
    header = page.headers["Content-Security-Policy"]
    policy = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, _, sources = directive.partition(" ")
        policy[name] = sources
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    html = page.get_data(as_text=True)
    # every inline script is allowed by its hash, and nothing else inline is
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    # its assets are same-origin and served, and the spec it fetches is allowed
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset
        assert "'self'" in policy["script-src"] and "'self'" in policy["style-src"]
    assert "'self'" in policy["connect-src"]
    assert "data:" in policy["img-src"]  # Swagger UI draws its icons from data: URIs


def test_json_answers_need_no_csp_of_their_own(client, tenant):
    response = client.get("/v1/wallet", headers=tenant.headers)
    assert "Content-Security-Policy" not in response.headers
