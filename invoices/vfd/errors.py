"""Why a VFD call did not give an answer. None of these ever means "accepted"."""

from __future__ import annotations


class VfdError(Exception):
    """Base for everything the VFD client raises."""


class TraUnreachable(VfdError):
    """No answer from TRA (timeout, connection error, HTTP 5xx): retry the same bytes later.

    The receipt may or may not have reached TRA; it is never treated as accepted.
    """


class MalformedResponse(VfdError):
    """TRA answered, but not in a shape we can read; treat like no answer."""


class RequestRejected(VfdError):
    """TRA refused the HTTP request itself (4xx): ours is wrong, retrying will not help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class TokenRefused(VfdError):
    """The token endpoint said no; `ack_code` is from its ACKCODE header (8 blocked, ...)."""

    def __init__(self, ack_code: int | None, message: str) -> None:
        super().__init__(f"token refused (ACKCODE {ack_code}): {message}")
        self.ack_code = ack_code
        self.message = message
