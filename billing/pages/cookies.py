"""The browser cookie, for page paths only.

The API proves who calls with a bearer key on every request: no cookie is opened, signed
or saved there, so Flask's per-request session work is skipped. Pages (the portal and the
back office) get Flask's signed cookie, holding only the server-side session's token, the
CSRF token and the language. HttpOnly and SameSite=Lax always; Secure when served over TLS
(a plain-HTTP local run would otherwise never get it back).
"""

from __future__ import annotations

from flask import Flask, Request, Response, request
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface

PAGE_PREFIXES = ("/portal", "/office")
COOKIE = "malipo_pages"


def is_page_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


class PageCookies(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | NullSession:
        if not is_page_path(request.path):
            return self.make_null_session(app)
        opened = super().open_session(app, request)  # an empty session is falsy: not None
        return self.make_null_session(app) if opened is None else opened

    def save_session(self, app: Flask, session: object, response: Response) -> None:
        if isinstance(session, NullSession) or not is_page_path(request.path):
            return None
        return super().save_session(app, session, response)  # type: ignore[arg-type]

    def get_cookie_name(self, app: Flask) -> str:
        return COOKIE

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Lax"
