"""The simulated payer and the operator's callback loop around it.

A push is booked, the payer answers after `delay_s` on a timer thread, and the operator
calls back as many times as the scenario says. The early-callback scenario answers and
calls back inside the initiate request itself, so the app serving the simulator must be
multi-threaded: the callback may be to the very server that is handling the initiate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from providers.sandbox.payments import Payment, PaymentBook
from providers.sandbox.scenarios import Scenario, deliveries

log = logging.getLogger(__name__)

Notify = Callable[[Payment], None]


class PayerSimulation:
    def __init__(self, notify: Notify, *, delay_s: float) -> None:
        self.book = PaymentBook()
        self._notify = notify
        self._delay_s = delay_s

    def begin(self, payment: Payment) -> bool:
        """Start the push; False for a duplicate. Call it before answering the initiate."""
        if not self.book.add(payment):
            return False
        if payment.scenario is Scenario.INITIATE_TIMEOUT:
            self.book.settle(payment.key)  # the push never reached the payer
        elif payment.scenario is Scenario.EARLY_CALLBACK:
            self._answer(payment.key)
        else:
            timer = threading.Timer(self._delay_s, self._answer, args=(payment.key,))
            timer.daemon = True
            timer.start()
        return True

    def pay_while_waiting(self, payment: Payment) -> Payment | None:
        """Synchronous mode: book the push and hold the caller until the payer answers;
        the settled payment, no callback. None for a duplicate."""
        if not self.book.add(payment):
            return None
        if payment.scenario is not Scenario.INITIATE_TIMEOUT:
            time.sleep(self._delay_s)
        return self.book.settle(payment.key)

    def _answer(self, key: str) -> None:
        try:
            settled = self.book.settle(key)
            if settled is None:
                return  # withdrawn by the merchant before the payer answered
            for _ in range(deliveries(settled.scenario)):
                self._notify(settled)
        except Exception:  # a timer thread has no one else to tell
            log.exception("sandbox payer simulation failed for %s", key)
