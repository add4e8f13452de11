"""Turning transport failures and code-less HTTP replies into honest results.

Who may call it "failed" depends on the operation: an initiate or refund that never
left failed cleanly, but a status query that never left says nothing about the payment.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from providers.base import Mapped, ProviderResult, ProviderStatus, not_sent, unknown_outcome
from providers.transport import HttpReply, NoAnswer, NotSent

log = logging.getLogger(__name__)
Method = TypeVar("Method", bound=Callable[..., ProviderResult])


def guarded(
    provider: str, call: Callable[[], ProviderResult], *, query: bool = False
) -> ProviderResult:
    try:
        return call()
    except NotSent as error:
        if query:
            return _query_unanswered(provider, "not_sent", str(error))
        return not_sent(provider, "not_sent", str(error))
    except NoAnswer as error:
        return unknown_outcome(provider, "no_answer", str(error))
    except Exception as error:  # a reply we could not read: the money may have moved
        log.exception("%s: reading the provider's answer failed", provider)
        if query:
            return _query_unanswered(provider, "unreadable_reply", _describe(error))
        return unknown_outcome(provider, "unreadable_reply", _describe(error))


def refuses_bad_input(method: Method) -> Method:
    """An adapter's initiate or refund never raises: what escapes it was raised before
    anything was sent (`guarded` catches the rest), so it is a plain, final failure."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any) -> ProviderResult:
        try:
            return method(self, request)
        except Exception as error:
            return ProviderResult(
                provider=self.code,
                status=ProviderStatus.FAILED,
                reason_code="invalid_request",
                reason=_describe(error),
            )

    return wrapper  # type: ignore[return-value]


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def _query_unanswered(provider: str, code: str, reason: str) -> ProviderResult:
    return ProviderResult(
        provider=provider,
        status=ProviderStatus.PENDING,
        ambiguous=True,
        retryable=True,
        reason_code=code,
        reason=reason,
    )


def without_code(provider: str, reply: HttpReply, *, query: bool = False) -> ProviderResult:
    """A reply that lacks the provider's status code: judge by the HTTP status alone."""
    code = f"http_{reply.status}"
    reason = reply.text[:200]
    if query:
        return _query_unanswered(provider, code, reason)
    if reply.status >= 500 or reply.status in (408, 409):
        return unknown_outcome(provider, code, reason)
    return ProviderResult(
        provider=provider,
        status=ProviderStatus.FAILED,
        reason_code=code,
        reason=reason,
        retryable=reply.status in (401, 403, 429),
    )


def query_error(provider: str, code: str, mapped: Mapped) -> ProviderResult:
    """The query itself was refused: the payment's state is still unknown."""
    return _query_unanswered(provider, code, mapped.description)
