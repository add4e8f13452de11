"""Saving a card: a Stripe Customer per tenant and a SetupIntent the browser confirms.

Malipo keeps Stripe's ids and what Stripe shows of the card (brand, last four digits),
read back from Stripe by the SetupIntent id we stored: never what a caller says.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.cards.models import SavedCard
from billing.core.db import insert_for, reading
from billing.core.errors import Conflict, InvalidInput, NotFound, ProviderUnavailable
from billing.tenants.service import get_tenant
from billing.topups.gateways import CARD, Gateways


def _adapter(gateways: Gateways):
    if CARD not in gateways.enabled:
        raise Conflict("card payments are not enabled here")
    return gateways.adapter(CARD)


def start_setup(session: Session, gateways: Gateways, tenant_id: str) -> dict:
    """A SetupIntent for the tenant's Stripe customer (made once); its client secret.

    Stripe is asked with no lock of ours held (and, outside a transaction, no connection
    out of the pool): a slow Stripe then holds up neither the tenant's other requests nor
    the service's. Two first setups at once ask for the customer under the same
    idempotency key, so Stripe makes one; the row is then inserted if absent and locked,
    and names the SetupIntent asked for last."""
    import stripe

    with reading(session):
        tenant = get_tenant(session, tenant_id)
        name, currency = tenant.name, tenant.currency
        saved = session.get(SavedCard, tenant_id)
        customer_id = saved.customer_id if saved else None
        previous = saved.setup_intent_id if saved else None
    api = _adapter(gateways).api
    try:
        if customer_id is None:
            customer_id = api.create_customer(
                {"name": name, "metadata": {"tenant_id": tenant_id}},
                f"malipo-customer-{tenant_id}",
            )["id"]
        setup = api.create_setup_intent(
            {"customer": customer_id, "usage": "off_session", "metadata": {"tenant_id": tenant_id}},
            f"malipo-setup-{tenant_id}-{previous or 'first'}",
        )
    except stripe.StripeError as error:
        raise ProviderUnavailable(f"Stripe did not answer: {type(error).__name__}") from None
    session.execute(
        insert_for(session, SavedCard.__table__)
        .values(tenant_id=tenant_id, customer_id=customer_id, currency=currency)
        .on_conflict_do_nothing()
    )
    saved = session.get(SavedCard, tenant_id, with_for_update=True, populate_existing=True)
    if saved is None or saved.customer_id != customer_id:  # erased meanwhile, or another customer's
        raise Conflict("the saved card changed meanwhile: ask again")
    saved.setup_intent_id = setup["id"]
    session.flush()
    return {
        "customer_id": customer_id,
        "setup_intent_id": setup["id"],
        "client_secret": setup["client_secret"],
        "publishable_key": _adapter(gateways).config.publishable_key,
    }


def _set_up_card(
    gateways: Gateways, setup_intent_id: str, known: str | None
) -> tuple[str, dict] | None:
    """The payment method the SetupIntent set up, and what Stripe shows of its card;
    None while it is not set up, or when it is the `known` one."""
    import stripe

    api = _adapter(gateways).api
    try:
        setup = api.retrieve_setup_intent(setup_intent_id)
        if setup.get("status") != "succeeded" or not setup.get("payment_method"):
            return None
        method_id = setup["payment_method"]
        method_id = method_id["id"] if isinstance(method_id, dict) else method_id
        if method_id == known:
            return None
        card = (api.retrieve_payment_method(method_id).get("card")) or {}
    except stripe.StripeError as error:
        raise ProviderUnavailable(f"Stripe did not answer: {type(error).__name__}") from None
    return method_id, card


def get_saved(session: Session, gateways: Gateways, tenant_id: str) -> SavedCard:
    """The saved card, with a card the stored SetupIntent set up since read back from
    Stripe. Stripe is asked before the row is locked (no call to Stripe holds a lock of
    ours); what it said is kept only if the row still names the same SetupIntent."""
    saved = session.get(SavedCard, tenant_id)
    if saved is None:
        raise NotFound("no saved card: POST /v1/saved-card first")
    asked = saved.setup_intent_id
    found = _set_up_card(gateways, asked, saved.payment_method_id) if asked else None
    saved = session.get(SavedCard, tenant_id, with_for_update=True, populate_existing=True)
    if saved is None:
        raise NotFound("no saved card: POST /v1/saved-card first")
    if found and saved.setup_intent_id == asked and saved.payment_method_id != found[0]:
        method_id, card = found
        saved.payment_method_id = method_id
        saved.brand = str(card.get("brand") or "")[:20] or None
        saved.last4 = str(card.get("last4") or "")[:4] or None
        saved.last_failure = None  # a new card: auto-recharge may try again
    return saved


def set_auto_recharge(
    session: Session,
    gateways: Gateways,
    tenant_id: str,
    *,
    threshold: int,
    amount: int,
    enabled: bool,
) -> SavedCard:
    saved = get_saved(session, gateways, tenant_id)
    if enabled and not saved.payment_method_id:
        raise Conflict("the card is not set up yet: confirm the SetupIntent first")
    limits = _adapter(gateways).capabilities
    if not limits.min_amount_minor <= amount <= limits.max_amount_minor:
        raise InvalidInput.on("amount", f"{limits.min_amount_minor} to {limits.max_amount_minor}")
    saved.threshold_minor = threshold
    saved.recharge_minor = amount
    saved.enabled = enabled
    if enabled:
        saved.last_failure = None  # the tenant asked again: one more try
    return saved


def expiry(gateways: Gateways, saved: SavedCard) -> tuple[int, int] | None:
    """The saved card's expiry month and year as Stripe reports it now (Malipo keeps no
    expiry); None without a card, or when Stripe does not answer."""
    import stripe

    if not saved.payment_method_id:
        return None
    try:
        card = _adapter(gateways).api.retrieve_payment_method(saved.payment_method_id).get("card")
    except stripe.StripeError:
        return None
    card = card or {}
    month, year = card.get("exp_month"), card.get("exp_year")
    return (int(month), int(year)) if month and year else None


def remove_card(session: Session, gateways: Gateways, tenant_id: str) -> SavedCard:
    """Forget the saved card: detached from the tenant's Stripe customer first (so it can
    never be charged again), then the row keeps no card and auto-recharge is off. The
    SetupIntent goes too, or reading it back would save the same card again."""
    import stripe

    saved = session.get(SavedCard, tenant_id)
    if saved is None or not saved.payment_method_id:
        raise NotFound("no saved card")
    method_id = saved.payment_method_id
    try:  # before the row lock: no call to Stripe while a row is locked
        _adapter(gateways).api.detach_payment_method(method_id)
    except stripe.InvalidRequestError:
        pass  # detached already (a retry, or at Stripe's dashboard)
    except stripe.StripeError as error:
        raise ProviderUnavailable(f"Stripe did not answer: {type(error).__name__}") from None
    saved = session.get(SavedCard, tenant_id, with_for_update=True, populate_existing=True)
    if saved is None or saved.payment_method_id != method_id:
        raise Conflict("the saved card changed meanwhile: reload the page")
    saved.payment_method_id = saved.brand = saved.last4 = saved.setup_intent_id = None
    saved.enabled = False
    saved.last_failure = None
    session.flush()
    return saved
