"""The composition root: settings are read here once, and everything is wired."""

from __future__ import annotations

from flask import Flask

from billing.core import logs, masking, metrics
from billing.core.config import Settings
from billing.jobs.queues import InlineJobQueue
from billing.processes.runtime import build_runtime
from billing.runtime import EXTENSION
from billing.web import (
    body_limit,
    escaped_errors,
    headers,
    observability,
    problems,
    session,
    validation,
)
from billing.web.api import API_SETTINGS, Api

# Importing a capability's jobs module registers its jobs with the runner.
JOB_MODULES = (
    "billing.ledger.jobs",
    "billing.events.jobs",
    "billing.topups.jobs",
    "billing.topups.reconcile_batch",
    "billing.topups.refunds",
    "billing.invoicing.jobs",
    "billing.dunning.jobs",
    "billing.usage.jobs",
    "billing.settlement.jobs",
    "billing.settlement.payouts.jobs",
    "billing.disputes.jobs",
    "billing.cards.webhooks",  # Stripe's webhooks (its inbox family), alone
    "billing.cards.batch",  # and in bursts
    "billing.cards.autorecharge",
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
    runtime = app.extensions[EXTENSION] = build_runtime(settings)
    if isinstance(runtime.queue, InlineJobQueue):
        runtime.queue.bind(app)  # its jobs run in this app, whichever thread relays them
    _register_jobs()
    headers.register(app)  # first registered, so it runs last: on every final response
    problems.register(app)
    escaped_errors.register(app)
    session.register(app)
    body_limit.register(app)
    _register_routes(app)
    _register_pages(app)
    observability.register(app)  # request ids and request metrics
    if settings.metrics_dir:  # several server processes: counted in files, summed at /metrics
        metrics.count_in(settings.metrics_dir)
    logs.configure(settings.log_format)
    masking.install()  # phone numbers never reach a log whole
    return app


def _register_jobs() -> None:
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)


def _register_routes(app: Flask) -> None:
    from billing.audit.api import blp as audit
    from billing.auth.api import blp as api_keys
    from billing.balance_adjustments.api import blp as adjustments
    from billing.cards.api import blp as saved_cards
    from billing.disputes.api import blp as disputes
    from billing.dunning.api import blp as dunning
    from billing.invoicing.api import blp as invoices
    from billing.invoicing.fiscal_api import blp as fiscal
    from billing.ledger.api import blp as wallet
    from billing.monitoring.api import blp as metrics
    from billing.paypage.views import blueprint as paypage
    from billing.portal.api import blp as portal_sessions
    from billing.privacy.api import blp as privacy
    from billing.settlement.api import blp as settlement
    from billing.settlement.payouts.api import blp as stripe_payouts
    from billing.tariffs.api import blp as tariffs
    from billing.tenants.api import blp as tenants
    from billing.topups.api import blp as topups
    from billing.usage.api import blp as usage
    from billing.web.health import blueprint as health
    from billing.web.health import docs_assets

    validation.register_converters(app)
    app.register_blueprint(health)
    app.register_blueprint(paypage)
    app.register_blueprint(docs_assets)
    api = Api(app)
    validation.register(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "mlp_… API key"}
    )
    api.spec.options["security"] = [{"bearer": []}]
    for blueprint in (
        tenants, api_keys, wallet, topups, saved_cards, tariffs, usage, invoices, fiscal,
        dunning, audit, disputes, adjustments, settlement, stripe_payouts, portal_sessions,
        privacy, metrics,
    ):  # fmt: skip
        api.register_blueprint(blueprint)
    if app.extensions[EXTENSION].settings.provider_mode == "sandbox":
        _register_simulators(app)
    if app.extensions[EXTENSION].settings.vfd_mode == "sandbox":
        _register_tra_simulator(app)


def _register_pages(app: Flask) -> None:
    """The tenant portal and the staff back office: cookie sessions on their paths only."""
    from billing.backoffice.routes import blueprint as back_office
    from billing.pages import setup
    from billing.portal.routes import blueprint as portal

    setup.register(app)
    app.register_blueprint(portal())
    app.register_blueprint(back_office())


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
