"""Wiring of the page machinery into the app (called by the composition root)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect

from billing.pages import i18n, labels
from billing.pages.cookies import PageCookies

HERE = Path(__file__).resolve().parent
csrf = CSRFProtect()


def register(app: Flask) -> None:
    app.session_interface = PageCookies()
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the page blueprints only: /v1 uses keys
        WTF_CSRF_TIME_LIMIT=None,  # as long as the browser session lives
        WTF_CSRF_SSL_STRICT=True,
    )
    csrf.init_app(app)
    i18n.register(app, str(HERE / "translations"))
    labels.register(app)
    app.register_blueprint(
        Blueprint(
            "pages",
            __name__,
            static_folder=str(HERE / "static"),
            static_url_path="/assets",
            template_folder=str(HERE / "templates"),
        )
    )
