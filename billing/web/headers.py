"""Security headers on every response, errors included.

An authenticated answer (and any error) is `no-store`: a balance, a statement or an
invoice must not sit in a shared or browser cache after the key that read it is gone.
HSTS only over TLS (a browser ignores it on plain HTTP). HTML gets a Content Security
Policy: /docs's inline Swagger UI bootstrap is allowed by its SHA-256, so no
`'unsafe-inline'` script is ever needed; the portal's and back office's pages get a
stricter one (their own script and style files only, no inline script or style).
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"
# The portal and the back office: scripts and styles from our own files only (htmx is
# vendored), no inline script or style at all; forms post only to ourselves.
PAGE_PREFIXES = ("/portal", "/office")
PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def _secure(response: Response) -> Response:
    response.headers.update(ALWAYS)
    if "Authorization" in request.headers or response.status_code >= 400:
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
        page = request.path.startswith(PAGE_PREFIXES)
        response.headers["Content-Security-Policy"] = PAGE_POLICY if page else _policy(response)
    return response


def _policy(response: Response) -> str:
    """Same-origin everything; inline scripts only by the hash of the ones served."""
    hashes = ""
    if not response.is_streamed and not response.direct_passthrough:
        for script in _INLINE_SCRIPT.findall(response.get_data()):
            digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
            hashes += f" 'sha256-{digest}'"
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self'{hashes}",
            "style-src 'self' 'unsafe-inline'",  # Swagger UI sets style attributes
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def register(app: Flask) -> None:
    app.after_request(_secure)
