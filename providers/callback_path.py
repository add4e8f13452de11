"""The secret callback path, proof of origin for operators that neither sign nor answer
status queries (Tigo Pesa): only someone given our callback URL knows its token.

The web layer passes the path's token on as the SHA-256 digest in `PATH_DIGEST_HEADER`
(replacing any such header a caller sent), so the stored evidence never holds the
token itself; the adapter compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from providers.base import InvalidCallback
from providers.inbound import header

PATH_DIGEST_HEADER = "X-Malipo-Callback-Path-Digest"


def path_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def require_path_token(headers: Mapping[str, str], expected_token: str | None) -> None:
    """Raise InvalidCallback unless the callback came to the secret path."""
    given = header(headers, PATH_DIGEST_HEADER)
    if not expected_token:
        raise InvalidCallback("no callback token is configured: callbacks are refused")
    if not given:
        raise InvalidCallback("callback did not come to the secret callback path")
    if not hmac.compare_digest(given.encode(), path_digest(expected_token).encode()):
        raise InvalidCallback("callback path token does not match")
