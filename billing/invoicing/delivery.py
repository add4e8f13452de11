"""E-mailing a document over SMTP, the PDF attached, or a plain notice (smtplib; STARTTLS
when configured)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from billing.core.config import Settings


class DeliveryNotConfigured(Exception):
    """No SMTP host in settings: documents are kept for download only."""


def send_document(
    settings: Settings, *, to: str, subject: str, body: str, pdf: bytes | None, filename: str = ""
) -> None:
    """E-mail `body` to `to`, the PDF attached when there is one (a reminder has none)."""
    if not settings.smtp_host:
        raise DeliveryNotConfigured("MALIPO_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    _send(settings, message)


def send_notice(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """A plain-text notice (a dispute's change) over the same SMTP path."""
    if not settings.smtp_host:
        raise DeliveryNotConfigured("MALIPO_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    _send(settings, message)


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_tls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)
