"""Server-side browser sessions: opened by a portal link or a staff sign-in, found by the
cookie's token, timed out when idle, revoked on sign-out.

A page's caller is a `Principal` like an API key's, so the pages reach the same finders,
role checks and service functions as the API (`billing.auth.access`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import session as cookie
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.clock import utcnow
from billing.core.ids import new_id
from billing.pages.models import WebSession


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


PORTAL = Timeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
STAFF = Timeouts(idle=timedelta(minutes=15), absolute=timedelta(hours=8))
REAUTH_FOR = timedelta(minutes=5)  # money moves within this long of the last password
_COOKIE_KEY = {"portal": "portal_token", "staff": "staff_token"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, kind: str, **who: object) -> WebSession:
    """A new browser session; its token goes into the cookie, only its hash into the row."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    limits = PORTAL if kind == "portal" else STAFF
    row = WebSession(
        id=new_id("wss"),
        token_sha256=_digest(token),
        kind=kind,
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.absolute,
        reauth_at=now if kind == "staff" else None,
        **who,
    )
    session.add(row)
    session.flush()
    cookie[_COOKIE_KEY[kind]] = token
    cookie.permanent = False
    return row


def current(session: Session, kind: str, now: datetime | None = None) -> WebSession | None:
    """The cookie's live session of this kind, touched; None when absent, idle or revoked."""
    token = cookie.get(_COOKIE_KEY[kind])
    if not token:
        return None
    row = session.execute(
        select(WebSession).where(WebSession.token_sha256 == _digest(token))
    ).scalar()
    now = now or utcnow()
    limits = PORTAL if kind == "portal" else STAFF
    if (
        row is None
        or row.kind != kind
        or row.revoked_at is not None
        or now >= row.expires_at
        or now - row.last_seen_at >= limits.idle
    ):
        cookie.pop(_COOKIE_KEY[kind], None)
        return None
    row.last_seen_at = now
    return row


def close(session: Session, row: WebSession) -> None:
    row.revoked_at = utcnow()
    cookie.pop(_COOKIE_KEY[row.kind], None)


def principal_of(row: WebSession) -> Principal:
    """The page caller as the API knows callers: the session stands in for a key."""
    return Principal(row.id, Role(row.role), row.tenant_id, row.staff_user_id)


def recently_reauthenticated(row: WebSession, now: datetime | None = None) -> bool:
    return row.reauth_at is not None and (now or utcnow()) - row.reauth_at < REAUTH_FOR
