"""What the simulated payer does, chosen by the last four digits of their number.

The endings are the public contract of sandbox mode (API.md, "Sandbox mode"); every
operator simulator reads the same table and expresses the outcome in its own wire format.
"""

from __future__ import annotations

from enum import StrEnum


class Scenario(StrEnum):
    SUCCESS = "success"
    INSUFFICIENT_FUNDS = "insufficient_funds"  # 0001
    PAYER_CANCELS = "payer_cancels"  # 0002: cancels the prompt or enters a wrong PIN
    NO_CALLBACK = "no_callback"  # 0003: paid, but the callback is never sent
    REPEATED_CALLBACK = "repeated_callback"  # 0004: paid, the callback arrives 5 times
    AMOUNT_MISMATCH = "amount_mismatch"  # 0005: paid, the callback reports another amount
    EARLY_CALLBACK = "early_callback"  # 0006: paid, callback before the initiate returns
    INITIATE_TIMEOUT = "initiate_timeout"  # 0007: initiate fails ambiguously (timeout)


class Settlement(StrEnum):
    """Where a simulated payment stands in the operator's books."""

    PENDING = "pending"  # the USSD prompt is on the payer's phone
    PAID = "paid"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CANCELLED = "cancelled"
    NOT_REACHED = "not_reached"  # the push never reached the payer: no money moved


ENDINGS: dict[str, Scenario] = {
    "0001": Scenario.INSUFFICIENT_FUNDS,
    "0002": Scenario.PAYER_CANCELS,
    "0003": Scenario.NO_CALLBACK,
    "0004": Scenario.REPEATED_CALLBACK,
    "0005": Scenario.AMOUNT_MISMATCH,
    "0006": Scenario.EARLY_CALLBACK,
    "0007": Scenario.INITIATE_TIMEOUT,
}

REPEATS = 5

_SETTLEMENTS: dict[Scenario, Settlement] = {
    Scenario.INSUFFICIENT_FUNDS: Settlement.INSUFFICIENT_FUNDS,
    Scenario.PAYER_CANCELS: Settlement.CANCELLED,
    Scenario.INITIATE_TIMEOUT: Settlement.NOT_REACHED,
}


def scenario_for(msisdn: str) -> Scenario:
    """Any number format works (255…, 9 digits, 0…): only the last four digits count."""
    digits = "".join(ch for ch in str(msisdn) if ch.isdigit())
    return ENDINGS.get(digits[-4:], Scenario.SUCCESS)


def settlement_for(scenario: Scenario) -> Settlement:
    return _SETTLEMENTS.get(scenario, Settlement.PAID)


def deliveries(scenario: Scenario) -> int:
    """How many times the result callback is posted."""
    if scenario in (Scenario.NO_CALLBACK, Scenario.INITIATE_TIMEOUT):
        return 0
    if scenario is Scenario.REPEATED_CALLBACK:
        return REPEATS
    return 1


def paid_shillings(scenario: Scenario, asked: int) -> int:
    """What actually moved: half the amount asked for in the mismatch scenario."""
    if settlement_for(scenario) is not Settlement.PAID:
        return 0
    if scenario is Scenario.AMOUNT_MISMATCH:
        return asked // 2 if asked > 1 else asked + 1
    return asked
