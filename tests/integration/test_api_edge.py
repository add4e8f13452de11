"""What every request meets: health, OpenAPI, body limits, unknown routes."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"] == "ok"


def served_operations(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every route the app serves under /v1, and /metrics."""
    return {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/") or rule.rule == "/metrics"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_openapi_document_lists_every_endpoint(client, app):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (path, method)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = served_operations(app)
    assert len(served) > 40  # the route table was read, not an empty set
    assert served - documented == set(), "served but not in /openapi.json"
    assert documented - served == set(), "documented but not served"
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
