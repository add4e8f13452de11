"""Card top-ups: a PaymentIntent at Stripe, answered with its `client_secret`.

Unlike a USSD push, the payer needs the PaymentIntent's client secret in the answer to
`POST /v1/topups`, so it is created in the request: first at Stripe (idempotency key
`malipo-pi-<top-up id>`, metadata with the top-up and tenant ids), then the top-up row,
which stores the PaymentIntent id as `provider_ref`. No row lock is held meanwhile. If
Stripe does not answer, nothing is stored and the caller gets 503: an intent Stripe may
have made is never shown to anyone, so it cannot be paid.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.errors import InvalidInput, ProviderUnavailable
from billing.core.ids import new_id
from billing.topups.gateways import CARD, Gateways
from billing.topups.models import Initiation, Topup
from providers.base import CollectionRequest, ProviderStatus
from providers.stripe import wire

# A card payment is the payer's to finish on a page: look at it after 30 s, then back off.
FIRST_CHECK_S = 30


def request_card_topup(
    session: Session, gateways: Gateways, tenant, amount: int, currency: str, *, reference_for
) -> Topup:
    adapter = gateways.adapter(CARD)
    limits = adapter.capabilities
    if currency not in wire.CURRENCIES:
        raise InvalidInput.on("currency", f"cards top up {' or '.join(wire.CURRENCIES)}")
    if not limits.min_amount_minor <= amount <= limits.max_amount_minor:
        raise InvalidInput.on(
            "amount", f"card takes {limits.min_amount_minor} to {limits.max_amount_minor}"
        )
    topup_id = new_id("top")
    reference = reference_for(topup_id)
    result = adapter.initiate_collection(
        CollectionRequest(
            topup_id=topup_id,
            reference=reference,
            msisdn="",
            amount_minor=amount,
            currency=currency,
            description=f"Malipo wallet top-up {reference}",
            callback_url=gateways.callback_url(CARD),
            metadata={"tenant_id": tenant.id},
        )
    )
    if result.ambiguous or result.retryable or not result.provider_ref:
        if result.status is ProviderStatus.FAILED and not result.retryable:
            raise InvalidInput.on("amount", f"Stripe refused the payment: {result.reason}")
        raise ProviderUnavailable(f"Stripe did not answer ({result.reason_code}); retry")
    topup = Topup(
        id=topup_id,
        tenant_id=tenant.id,
        reference=reference,
        provider=CARD,
        msisdn="",
        amount_minor=amount,
        currency=currency,
        provider_ref=result.provider_ref,
        initiation=Initiation.SENT,
        next_check_at=utcnow() + timedelta(seconds=FIRST_CHECK_S),
    )
    session.add(topup)
    session.flush()
    topup.client_secret = result.raw.get("client_secret")  # answered once, never stored
    return topup
