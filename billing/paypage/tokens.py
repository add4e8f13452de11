"""The `/pay/<token>` token: a signed, expiring reference to one top-up.

Whoever holds it may pay that top-up and see whether it was paid; it opens nothing else.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "malipo.pay-page"
MAX_AGE_S = 24 * 3600


def token_for(secret_key: str, topup_id: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps(topup_id)


def topup_of(secret_key: str, token: str) -> str | None:
    try:
        value = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=MAX_AGE_S)
    except BadSignature:  # SignatureExpired is one
        return None
    return value if isinstance(value, str) else None


def pay_url(public_url: str, secret_key: str, topup_id: str) -> str:
    return f"{public_url.rstrip('/')}/pay/{token_for(secret_key, topup_id)}"
