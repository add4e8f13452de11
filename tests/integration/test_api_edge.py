"""What every request meets: health, OpenAPI, body limits, unknown routes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"] == "ok"


def test_the_openapi_document_lists_every_endpoint(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {
        "/v1/tenants",
        "/v1/tenants/{tenant_id}",
        "/v1/tenants/{tenant_id}/api-keys",
        "/v1/api-keys/{key_id}/revoke",
        "/v1/wallet",
        "/v1/wallet/entries",
    } <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert client.get("/docs").status_code == 200


def test_an_oversized_body_is_413_before_it_is_read(client, admin, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/v1/tenants",
        data=b"{" + b" " * limit + b"}",
        content_type="application/json",
        headers=admin.headers,
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_an_unknown_route_is_a_problem(client):
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(app):
    from billing.web.problems import from_unexpected

    with app.test_request_context("/v1/anything"):
        response = from_unexpected(RuntimeError("secret detail"))
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert "secret" not in response.get_data(as_text=True)
