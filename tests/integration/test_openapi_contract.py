"""Issue 15, finding 5: the published OpenAPI document is valid 3.1 and says what is served."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def document(app) -> dict:
    return app.test_client().get("/openapi.json").get_json()


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_no_numeric_keyword_holds_a_string(document):
    for node in _walk(document):
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            assert not isinstance(node.get(key), str), node


def test_decimals_are_documented_as_the_strings_they_are(document):
    schemas = document["components"]["schemas"]
    rate = schemas["DurationRate"]["properties"]["rate"]
    assert "string" in rate["type"] and rate["pattern"].startswith("^[0-9]")
    assert schemas["FxRateCreate"]["properties"]["rate"]["type"] == "string"
    for node in _walk(schemas):
        assert node.get("type") != "number", node


def test_every_error_response_is_problem_json(document):
    """A provider's callback answers in the provider's own format, errors too."""
    for name, path in document["paths"].items():
        if name.startswith("/v1/callbacks/"):
            continue
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if status == "default" or status[0] in "45":
                    assert "application/json" not in response.get("content", {}), response
    for response in document["components"]["responses"].values():
        assert set(response.get("content", {})) <= {"application/problem+json"}


def test_closed_sets_are_enums_and_optional_bodies_are_not_required(document):
    [provider] = document["paths"]["/v1/callbacks/{provider}"]["parameters"]
    assert {"mpesa", "selcom", "tigopesa"} <= set(provider["schema"]["enum"])
    assert document["paths"]["/v1/usage/retry"]["post"]["requestBody"]["required"] is False


def test_a_wrong_method_is_405_with_allow(client):
    response = client.delete("/v1/tenants")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


def test_a_wrong_content_type_is_415_not_missing_data(client, admin):
    response = client.post(
        "/v1/tenants", data="name=x", content_type="text/plain", headers=admin.headers
    )
    assert response.status_code == 415 and response.mimetype == "application/problem+json"
    assert "application/json" in response.get_json()["detail"]


def test_retry_takes_no_body(client, admin):
    assert client.post("/v1/usage/retry", headers=admin.headers).status_code == 200


def test_an_unknown_callback_provider_is_404(client):
    assert client.post("/v1/callbacks/acme", data=b"{}").status_code == 404
