"""Domain errors. Each knows its HTTP status; the web layer renders it as problem+json.

Services raise these; routes never build error responses by hand.
"""

from __future__ import annotations


class MalipoError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class InvalidInput(MalipoError):
    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", {field: [message]})


class Unauthenticated(MalipoError):
    status = 401
    title = "Unauthenticated"
    type_slug = "unauthenticated"


class Forbidden(MalipoError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(MalipoError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(MalipoError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class IdempotencyKeyReused(MalipoError):
    """The same idempotency key came back with different content."""

    status = 422
    title = "Idempotency key reused with different content"
    type_slug = "idempotency-key-reused"


class InsufficientFunds(MalipoError):
    status = 422
    title = "Insufficient funds"
    type_slug = "insufficient-funds"


class ProviderUnavailable(MalipoError):
    """A payment provider did not answer: nothing was stored; the request may be retried."""

    status = 503
    title = "Service Unavailable"
    type_slug = "unavailable"
