"""Liveness and readiness, outside the versioned API."""

from __future__ import annotations

from flask import Blueprint, jsonify
from swagger_ui_bundle import swagger_ui_path

from billing.core.spool import Spool
from billing.runtime import current

blueprint = Blueprint("health", __name__)
docs_assets = Blueprint(
    "docs_assets", __name__, static_folder=swagger_ui_path, static_url_path="/docs/static"
)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    runtime = current()
    checks = {"database": _check(lambda: _select_one(runtime.engine))}
    if runtime.redis is not None:
        checks["redis"] = _check(runtime.redis.ping)
    for code, state in runtime.gateways.authentication().items():
        checks[f"provider:{code}"] = state
    ready = all(state in ("ok", "checking") for state in checks.values())
    # Callbacks on disk waiting for the database (billing.topups.spool): not a failure.
    backlog = Spool(runtime.settings.spool_dir).count()
    return jsonify(status="ready" if ready else "unavailable", checks=checks, spool=backlog), (
        200 if ready else 503
    )


def _select_one(engine) -> None:
    """A statement, not a check-out: a pooled connection the server closed checks out."""
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


def _check(probe) -> str:
    try:
        probe()
    except Exception as error:
        return f"failed: {type(error).__name__}"
    return "ok"
