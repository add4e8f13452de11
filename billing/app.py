"""The composition root: settings are read here once, and everything is wired."""

from __future__ import annotations

import logging

from flask import Flask, Request, Response
from flask.sessions import NullSession, SessionInterface

from billing.core import masking
from billing.core.config import Settings
from billing.jobs.queues import InlineJobQueue
from billing.runtime import EXTENSION, Runtime
from billing.web import body_limit, escaped_errors, headers, problems, session, validation
from billing.web.api import API_SETTINGS, Api

# Importing a capability's jobs module registers its jobs with the runner.
JOB_MODULES = (
    "billing.ledger.jobs",
    "billing.events.jobs",
    "billing.topups.jobs",
    "billing.topups.reconcile_batch",
    "billing.topups.refunds",
    "billing.invoicing.jobs",
    "billing.usage.jobs",
    "billing.privacy.jobs",
)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("billing")
    app.config.update(
        API_SETTINGS,
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TESTING=settings.testing,
    )
    app.session_interface = _NoCookieSession()
    runtime = app.extensions[EXTENSION] = Runtime.build(settings)
    if isinstance(runtime.queue, InlineJobQueue):
        runtime.queue.bind(app)  # its jobs run in this app, whichever thread relays them
    _register_jobs()
    headers.register(app)  # first registered, so it runs last: on every final response
    problems.register(app)
    escaped_errors.register(app)
    session.register(app)
    body_limit.register(app)
    _register_routes(app)
    masking.install()  # phone numbers never reach a log whole
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return app


class _NoCookieSession(SessionInterface):
    """Callers prove who they are with a bearer key on every request: there is no cookie
    session to open, sign or save, so Flask's per-request session work is skipped."""

    def open_session(self, app: Flask, request: Request) -> NullSession:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: object, response: Response) -> None:
        return None


def _register_jobs() -> None:
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)


def _register_routes(app: Flask) -> None:
    from billing.audit.api import blp as audit
    from billing.auth.api import blp as api_keys
    from billing.invoicing.api import blp as invoices
    from billing.ledger.api import blp as wallet
    from billing.privacy.api import blp as privacy
    from billing.tariffs.api import blp as tariffs
    from billing.tenants.api import blp as tenants
    from billing.topups.api import blp as topups
    from billing.usage.api import blp as usage
    from billing.web.health import blueprint as health
    from billing.web.health import docs_assets

    validation.register_converters(app)
    app.register_blueprint(health)
    app.register_blueprint(docs_assets)
    api = Api(app)
    validation.register(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "mlp_… API key"}
    )
    api.spec.options["security"] = [{"bearer": []}]
    for blueprint in (tenants, api_keys, wallet, topups, tariffs, usage, invoices, audit, privacy):
        api.register_blueprint(blueprint)
    if app.extensions[EXTENSION].settings.provider_mode == "sandbox":
        _register_simulators(app)
    if app.extensions[EXTENSION].settings.vfd_mode == "sandbox":
        _register_tra_simulator(app)


def _register_simulators(app: Flask) -> None:
    """Sandbox mode: each operator's simulator, served by this service itself."""
    from providers.sandbox import sandbox_blueprint

    runtime = app.extensions[EXTENSION]
    for simulator in ("mpesa", "tigopesa", "airtelmoney", "selcom"):
        blueprint = sandbox_blueprint(
            simulator,
            callback_url=runtime.gateways.callback_url(simulator),
            delay_s=runtime.settings.sandbox_delay_s,
        )
        app.register_blueprint(blueprint, url_prefix=f"/sandbox/{simulator}")


def _register_tra_simulator(app: Flask) -> None:
    """Sandbox fiscalisation: TRA's VFD API simulated by this service too."""
    from billing.invoicing.sandbox import tra_blueprint
    from billing.invoicing.vfd import SANDBOX_PATH

    settings = app.extensions[EXTENSION].settings
    app.register_blueprint(tra_blueprint(settings), url_prefix=SANDBOX_PATH)
