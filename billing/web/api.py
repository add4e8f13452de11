"""The flask-smorest API object, rendering its errors as problem+json."""

from __future__ import annotations

from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from billing.web.problems import ProblemSchema, from_http_exception

API_SETTINGS = {
    "API_TITLE": "Malipo",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "/docs/static/",  # served from swagger-ui-bundle, no CDN
}


class Api(SmorestApi):
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        return from_http_exception(error)
