"""Where a top-up, its initiation and its refunds stand, and the allowed moves, as
tables (pure: no I/O).

Every writer that changes one of these states asks `move` first, so an illegal move
(a refunded top-up failing, a settled refund sent again) raises instead of silently
rewriting money history. The enums live here so the tables need no database library.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar


class TopupStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class Initiation(StrEnum):
    """Where the request to the provider stands: it is sent at most once."""

    NOT_SENT = "not_sent"
    SENDING = "sending"
    SENT = "sent"
    UNKNOWN = "unknown"  # timed out after sending: only a status query can tell


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # the wallet is debited; the provider is asked after commit
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the debit is reversed: the money is back in the wallet
    UNKNOWN = "unknown"  # no answer from the provider: a person checks


S = TypeVar("S", bound=StrEnum)

_T = TopupStatus
TOPUP: Mapping[TopupStatus, frozenset[TopupStatus]] = {
    _T.PENDING: frozenset({_T.SUCCEEDED, _T.FAILED, _T.CANCELLED, _T.EXPIRED}),
    # A payment that lands after we gave up is credited (and flagged as a late success).
    _T.FAILED: frozenset({_T.SUCCEEDED}),
    _T.CANCELLED: frozenset({_T.SUCCEEDED}),
    _T.EXPIRED: frozenset({_T.SUCCEEDED}),
    _T.SUCCEEDED: frozenset({_T.REFUNDED}),  # once its refunds give back all of it
    _T.REFUNDED: frozenset(),
}

_I = Initiation
INITIATION: Mapping[Initiation, frozenset[Initiation]] = {
    _I.NOT_SENT: frozenset({_I.SENDING}),
    # Back to not_sent only when nothing reached the provider (a retryable answer).
    _I.SENDING: frozenset({_I.SENT, _I.UNKNOWN, _I.NOT_SENT}),
    _I.UNKNOWN: frozenset(),  # only status queries tell, and they move the top-up
    _I.SENT: frozenset(),
}

_R = RefundStatus
REFUND: Mapping[RefundStatus, frozenset[RefundStatus]] = {
    _R.REQUESTED: frozenset({_R.SENDING}),
    _R.SENDING: frozenset({_R.SUCCEEDED, _R.FAILED, _R.UNKNOWN}),
    # A status query or a person settles an unanswered refund.
    _R.UNKNOWN: frozenset({_R.SUCCEEDED, _R.FAILED}),
    _R.SUCCEEDED: frozenset(),
    _R.FAILED: frozenset(),  # the debit is reversed; a new refund is a new row
}

INITIAL = {TopupStatus: _T.PENDING, Initiation: _I.NOT_SENT, RefundStatus: _R.REQUESTED}
TABLES: Mapping[type[StrEnum], Mapping] = {
    TopupStatus: TOPUP,
    Initiation: INITIATION,
    RefundStatus: REFUND,
}


class IllegalMove(RuntimeError):
    """A state change the tables do not allow: a bug or a race, never input."""


def allowed(current: S, new: S) -> bool:
    return new in TABLES[type(current)][current]


def move(entity: object, attribute: str, new: S) -> S:
    """Set `entity.attribute` to `new` if the table allows it from where it stands."""
    current = getattr(entity, attribute)
    if current == new:
        raise IllegalMove(f"{type(entity).__name__}.{attribute} is already {new.value}")
    if not allowed(current, new):
        raise IllegalMove(
            f"{type(entity).__name__}.{attribute}: {current.value} -> {new.value} is not allowed"
        )
    setattr(entity, attribute, new)
    return new


def from_states(table: Mapping[S, frozenset[S]], new: S) -> tuple[S, ...]:
    """The states `new` may be reached from: the WHERE of a claiming UPDATE."""
    return tuple(state for state, targets in table.items() if new in targets)
