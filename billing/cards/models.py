"""Card charges (gross/fee/net), chargebacks, and each tenant's saved card."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, UtcDateTime


class CardCharge(Base):
    """A card top-up's charge as Stripe settled it: what finance sees as gross, fee, net."""

    __tablename__ = "card_charges"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # Stripe's ch_…
    topup_id: Mapped[str] = mapped_column(ForeignKey("topups.id"), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    payment_intent_id: Mapped[str] = mapped_column(String(100))
    balance_transaction_id: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    fee_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Stripe's `available_on` of its balance transaction: from then on a payout takes it.
    available_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class CardChargeback(Base):
    """A Stripe dispute of a card top-up: the disputed amount is held out of the spendable
    balance while it is open, then given back (won) or taken with Stripe's fee (lost)."""

    __tablename__ = "card_chargebacks"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # Stripe's dp_…
    topup_id: Mapped[str] = mapped_column(ForeignKey("topups.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    charge_id: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # open | won | lost
    held_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # from the wallet
    owed_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # more than it held
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    hold_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    close_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    dispute_id: Mapped[str | None] = mapped_column(String(40))  # Malipo's own dispute, if any
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),)


class SavedCard(Base):
    """A tenant's Stripe customer, saved card and auto-recharge rule (one per tenant).

    Only Stripe's ids and what Stripe shows of a card (brand, last four digits, expiry
    month/year) are kept; never a number, a CVC or a full expiry date.
    """

    __tablename__ = "card_saved"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    setup_intent_id: Mapped[str | None] = mapped_column(String(100))
    payment_method_id: Mapped[str | None] = mapped_column(String(100))
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3))
    threshold_minor: Mapped[int | None] = mapped_column(BigInteger)
    recharge_minor: Mapped[int | None] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The auto-recharge in flight: none other starts while it is pending.
    pending_topup_id: Mapped[str | None] = mapped_column(ForeignKey("topups.id"))
    # A decline stops auto-recharge until the tenant saves a card or re-enables it.
    last_failure: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
