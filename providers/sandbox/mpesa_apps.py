"""M-Pesa Open API applications, and the synchronous mode one of them may be set to.

On the Open API portal an application (its API key) is given its products, and C2B is
either synchronous or asynchronous there, not in the request: so every session opened
with an application's key carries its mode, and each c2b call is answered in the mode
of the session it presents. The sandbox publishes one application of each kind.

Sync mode (providers.md §1): `c2bPayment/singleStage/` holds the request until the
payer answers, then answers with the result itself: INS-0 with `output_TransactionID`
once paid, the failure code otherwise. No callback follows.
"""

from __future__ import annotations

from typing import Any

from providers.sandbox import access
from providers.sandbox.payments import Payment
from providers.sandbox.scenarios import Settlement

API_KEY = "malipo-sandbox-mpesa-api-key"  # the asynchronous application
SYNC_API_KEY = "malipo-sandbox-mpesa-sync-api-key"  # the synchronous application
APPLICATIONS: dict[str, str] = {API_KEY: "async", SYNC_API_KEY: "sync"}
_REALMS = {"async": "mpesa-session", "sync": "mpesa-session-sync"}

# Adapter settings on top of `settings()` that select the synchronous application.
SYNC_SETTINGS: dict[str, Any] = {"api_key": SYNC_API_KEY, "mode": "sync"}

# The payer's answer as the sync reply: (code, description, HTTP status). The statuses
# of the failures are [I]: 422 as for other refused transactions.
SYNC_ANSWERS: dict[Settlement, tuple[str, str, int]] = {
    Settlement.PAID: ("INS-0", "Request processed successfully", 201),
    Settlement.INSUFFICIENT_FUNDS: ("INS-2006", "Insufficient balance", 422),
    Settlement.CANCELLED: ("INS-5", "Transaction cancelled by customer", 422),
    Settlement.NOT_REACHED: ("INS-9", "Request timeout", 408),
}


def open_session(api_key: str | None) -> str | None:
    """A session id for the application with this key; None for an unknown key."""
    mode = APPLICATIONS.get(api_key or "")
    return access.issue(_REALMS[mode]) if mode else None


def session_mode(session_id: str | None) -> str | None:
    """ "sync" or "async" for a live session, None for anything else."""
    for mode, realm in _REALMS.items():
        if access.is_valid(realm, session_id):
            return mode
    return None


def sync_reply(payment: Payment) -> tuple[dict[str, str], int]:
    """The blocking c2b call's answer, once the payer has answered."""
    code, description, status = SYNC_ANSWERS[payment.settlement]
    body = {
        "output_ResponseCode": code,
        "output_ResponseDesc": description,
        "output_ConversationID": payment.key,
        "output_ThirdPartyConversationID": payment.reference,
        "output_TransactionID": payment.receipt if code == "INS-0" else "N/A",
    }
    return body, status
