"""Turning transport failures and code-less HTTP replies into honest results.

Who may call it "failed" depends on the operation: an initiate or refund that never
left failed cleanly, but a status query that never left says nothing about the payment.
"""

from __future__ import annotations

from collections.abc import Callable

from providers.base import Mapped, ProviderResult, ProviderStatus, not_sent, unknown_outcome
from providers.transport import HttpReply, NoAnswer, NotSent


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
