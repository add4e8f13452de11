"""The flask-smorest API object and blueprint: errors as problem+json, a true document.

The document is OpenAPI 3.1 and says what the service does: decimals are strings with a
pattern (that is how they are served), every error is `application/problem+json`, a path
argument drawn from a closed set is an enum.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import fields
from werkzeug.exceptions import HTTPException
from werkzeug.routing import AnyConverter

from billing.web.problems import MEDIA_TYPE, ProblemSchema, from_http_exception
from billing.web.validation import EdgeParser

API_SETTINGS = {
    "API_TITLE": "Malipo",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "/docs/static/",  # served from swagger-ui-bundle, no CDN
}
# Any decimal the service serves: plain digits, optional sign and fraction, no exponent.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class Blueprint(SmorestBlueprint):
    """Every route's arguments go through the edge parser (see billing.web.validation)."""

    ARGUMENTS_PARSER = EdgeParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """A schema class is made an instance once, here: webargs otherwise builds one per
        request (deep-copying every field), a twentieth of an authorisation's CPU."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


class Api(SmorestApi):
    ERROR_SCHEMA = ProblemSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_decimal_as_string)
        self.ma_plugin.converter.add_attribute_function(_narrowed_by_metadata)
        self.register_converter(AnyConverter, _closed_set)

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        return from_http_exception(error)

    def _openapi_json(self) -> Response:
        return current_app.response_class(
            json.dumps(self.document(), indent=2, sort_keys=False), mimetype="application/json"
        )

    def document(self) -> dict[str, Any]:
        """The OpenAPI document as served: errors carry the problem+json media type."""
        document = self.spec.to_dict()
        for response in document.get("components", {}).get("responses", {}).values():
            _problem_media_type(response)
        for path in document.get("paths", {}).values():
            for operation in path.values():
                if not isinstance(operation, dict):
                    continue
                for status, response in operation.get("responses", {}).items():
                    if status == "default" or str(status)[:1] in "45":
                        _problem_media_type(response)
        return document


def _problem_media_type(response: dict[str, Any]) -> None:
    """A problem body is `application/problem+json`; another error body (a provider's own
    refusal on its callback) keeps its type."""
    content = response.get("content") or {}
    schema = content.get("application/json", {}).get("schema", {})
    if schema.get("$ref", "").endswith("/Problem"):
        content[MEDIA_TYPE] = content.pop("application/json")


def _decimal_as_string(self: Any, field: fields.Field, ret: dict, **_: Any) -> dict:
    """A Decimal field is served as a string: type string with a pattern, no numeric range
    (a `DecimalString` says its range in its pattern and description)."""
    if not isinstance(field, fields.Decimal):
        return {}
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "format"):
        ret.pop(key, None)
    nullable = isinstance(ret.get("type"), list) and "null" in ret["type"]
    ret["type"] = ["string", "null"] if nullable else "string"
    ret["pattern"] = getattr(field, "pattern", DECIMAL_PATTERN)
    return {}


def _narrowed_by_metadata(self: Any, field: fields.Field, ret: dict, **_: Any) -> dict:
    """A field whose validator narrows its type (an Enum field taking only tenant roles)
    says so in its metadata; that wins over the type's full set."""
    return {key: field.metadata[key] for key in ("enum", "pattern") if key in field.metadata}


def _closed_set(converter: AnyConverter) -> dict[str, Any]:
    return {"type": "string", "enum": sorted(converter.items)}
