"""Words for the codes pages show (statuses, services, document kinds), in both languages."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

STATUS = {
    "pending": _l("pending"),
    "succeeded": _l("succeeded"),
    "failed": _l("failed"),
    "cancelled": _l("cancelled"),
    "expired": _l("expired"),
    "refunded": _l("refunded"),
    "open": _l("open"),
    "resolved": _l("resolved"),
    "investigating": _l("investigating"),
    "rejected": _l("rejected"),
    "draft": _l("draft"),
    "final": _l("final"),
    "void": _l("void"),
    "delivered": _l("delivered"),
    "acknowledged": _l("acknowledged"),
    "active": _l("active"),
    "suspended": _l("suspended"),
}
SERVICE = {"voice": _l("Voice calls"), "sms": _l("SMS"), "whatsapp": _l("WhatsApp")}
KIND = {
    "invoice": _l("Tax invoice"),
    "receipt": _l("Receipt"),
    "credit_note": _l("Credit note"),
}


def status_label(code: str) -> str:
    return str(STATUS.get(code, code))


def service_label(code: str) -> str:
    return str(SERVICE.get(code, code))


def kind_label(code: str) -> str:
    return str(KIND.get(code, code.replace("_", " ")))


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        status_label=status_label, service_label=service_label, kind_label=kind_label
    )
