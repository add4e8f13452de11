"""A message's status lifecycle, and what it means for its charge.

Platforms report a message's statuses as they happen (queued, sent, delivered, read, or
failed), in any order and often more than once. A message is charged from the statuses
it has shown, as a set, so the order they arrive in and their repetition change nothing:

- charged once any chargeable status was seen: an SMS once the upstream accepted it
  (accepted, sent, delivered, undelivered: the carrier tried), a WhatsApp message once it
  was delivered or read (Meta charges delivered messages);
- never charged if it only ever failed (or is still queued);
- charged, then reported failed: `CHARGED_THEN_FAILED`; the rate plan says whether it is
  refunded (`RatePlan.refund_failed_messages`) or stays charged (the default: an
  operator bills an accepted message even if the handset never takes it).
"""

from __future__ import annotations

from collections.abc import Iterable

SMS = "sms"
WHATSAPP = "whatsapp"
MESSAGE_SERVICES = frozenset({SMS, WHATSAPP})

SMS_CHARGED = frozenset({"accepted", "sent", "delivered", "undelivered"})
WHATSAPP_CHARGED = frozenset({"delivered", "read"})
CHARGED = {SMS: SMS_CHARGED, WHATSAPP: WHATSAPP_CHARGED}
FAILED = {SMS: frozenset({"failed", "rejected"}), WHATSAPP: frozenset({"failed"})}
STATUSES = frozenset(SMS_CHARGED | WHATSAPP_CHARGED | {"failed", "rejected", "queued", "sent"})

# Dispositions of a message record (the column CDRs use for ANSWERED, BUSY…).
CHARGEABLE = "ANSWERED"
NOT_CHARGEABLE = "FAILED"
CHARGED_THEN_FAILED = "CHARGED_FAILED"


def statuses_seen(stored: str) -> frozenset[str]:
    """The statuses a stored record has shown (`delivery_status`: comma-separated)."""
    return frozenset(part for part in stored.split(",") if part)


def stored_statuses(seen: Iterable[str]) -> str:
    """The set as stored: sorted, so equal sets are equal text."""
    return ",".join(sorted(set(seen)))


def disposition(service: str, seen: frozenset[str]) -> str:
    """What the statuses seen so far make of the message's charge (see the module doc)."""
    charged = bool(seen & CHARGED[service])
    failed = bool(seen & FAILED[service])
    if charged and failed:
        return CHARGED_THEN_FAILED
    return CHARGEABLE if charged else NOT_CHARGEABLE


def is_final(service: str, seen: frozenset[str]) -> bool:
    """Whether the message has shown a status that settles its charge (its reservation
    is closed then): a chargeable one or a failure. Queued, or a WhatsApp message only
    sent, is still on its way."""
    return bool(seen & (CHARGED[service] | FAILED[service]))


def is_charged(disposition_: str, refund_failed: bool) -> bool:
    """Whether a message of this disposition is charged under a plan's refund rule."""
    if disposition_ == CHARGED_THEN_FAILED:
        return not refund_failed
    return disposition_ == CHARGEABLE
