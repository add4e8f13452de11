"""The simulator's in-memory books: every push it accepted and how it ended.

Request threads and payer timers touch the same payments, so every read and write goes
through one lock and readers get a copy, never the live record.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from providers.sandbox.scenarios import Scenario, Settlement, paid_shillings, settlement_for


@dataclass
class Payment:
    key: str  # the operator's own id for the push (conversation id, order id, ...)
    reference: str  # the merchant's reference, as sent
    msisdn: str
    asked: int  # whole shillings requested
    scenario: Scenario
    receipt: str  # the operator's transaction id, shown once money has moved
    callback_url: str
    settlement: Settlement = Settlement.PENDING
    paid: int = 0  # whole shillings that actually moved
    refunded: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    # Other ids the merchant may query by, e.g. M-Pesa's input_TransactionReference,
    # which need not be unique: the latest payment answers for it.
    aliases: tuple[str, ...] = ()
    paid_at: datetime | None = None  # when the money moved: the statement's time

    @property
    def refundable(self) -> int:
        return self.paid - self.refunded


class RefundRefused(Exception):
    """The operator would refuse this refund (unknown, unpaid, or too much)."""


class DuplicateRefund(RefundRefused):
    """A refund id seen before: operators answer these as duplicates, not as new refunds."""


class PaymentBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._payments: dict[str, Payment] = {}
        self._aliases: dict[str, str] = {}  # reference or receipt -> key
        self._refund_ids: set[str] = set()

    def add(self, payment: Payment) -> bool:
        """Book a new push; False if its key or reference is already taken (a duplicate)."""
        with self._lock:
            if payment.key in self._payments or payment.reference in self._aliases:
                return False
            self._payments[payment.key] = payment
            self._aliases[payment.reference] = payment.key
            self._aliases[payment.receipt] = payment.key
            for alias in payment.aliases:
                if alias not in self._payments:
                    self._aliases[alias] = payment.key
            return True

    def find(self, ident: str) -> Payment | None:
        """By the operator's key, the merchant's reference or the receipt."""
        with self._lock:
            payment = self._lookup(ident)
            return dataclasses.replace(payment) if payment else None

    def settle(self, key: str) -> Payment | None:
        """The payer answers as the scenario says; None if it was settled already."""
        with self._lock:
            payment = self._payments[key]
            if payment.settlement is not Settlement.PENDING:
                return None
            payment.settlement = settlement_for(payment.scenario)
            payment.paid = paid_shillings(payment.scenario, payment.asked)
            if payment.settlement is Settlement.PAID:
                payment.paid_at = datetime.now(UTC)
            return dataclasses.replace(payment)

    def cancel(self, ident: str) -> bool:
        """The merchant withdraws a push the payer has not answered yet."""
        with self._lock:
            payment = self._lookup(ident)
            if payment is None or payment.settlement is not Settlement.PENDING:
                return False
            payment.settlement = Settlement.CANCELLED
            return True

    def refund(self, ident: str, shillings: int | None, refund_id: str) -> Payment:
        """Give back `shillings` (None: all that is left) of a paid payment, once per id."""
        with self._lock:
            if refund_id in self._refund_ids:
                raise DuplicateRefund(f"refund {refund_id} was already made")
            payment = self._lookup(ident)
            if payment is None or payment.settlement is not Settlement.PAID:
                raise RefundRefused("no paid transaction with that id")
            amount = payment.refundable if shillings is None else shillings
            if amount <= 0 or amount > payment.refundable:
                raise RefundRefused(f"cannot refund {amount}; {payment.refundable} is left")
            payment.refunded += amount
            self._refund_ids.add(refund_id)
            return dataclasses.replace(payment)

    def paid_between(self, start: datetime, end: datetime) -> list[Payment]:
        """Copies of the payments whose money moved in [start, end), oldest first."""
        with self._lock:
            paid = [
                dataclasses.replace(p)
                for p in self._payments.values()
                if p.paid_at is not None and start <= p.paid_at < end
            ]
        return sorted(paid, key=lambda p: p.paid_at or start)

    def _lookup(self, ident: str) -> Payment | None:
        return self._payments.get(ident) or self._payments.get(self._aliases.get(ident, ""))
