"""The common adapter interface every provider package implements (providers.md §8).

Money crosses this boundary as integer minor units plus an ISO 4217 code; each adapter
converts to the whole shillings its operator wants. Results never claim more than the
provider said: a timeout or an unknown code is `pending`, flagged, never a success.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ProviderStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REVERSED = "reversed"


TERMINAL = frozenset(ProviderStatus) - {ProviderStatus.PENDING}


class Proof(StrEnum):
    """What vouches for a callback. It decides whether the callback may move money itself.

    A callback is a claim about a payment we started. Only a provider's signature, or
    (where the operator offers nothing else) its source network and a secret path, lets
    the claim be applied as told; an unproven one is a doorbell, and only a status query
    made with the top-up's own stored ids can settle it (DESIGN.md, "Trust").
    """

    SIGNATURE = "signature"  # signed by the provider; checked with its key
    SOURCE = "source"  # from the operator's configured networks, on the secret path
    NONE = "none"  # nothing: confirm with the provider before believing it


class MsisdnFormat(StrEnum):
    E164_NO_PLUS = "e164_no_plus"  # 255712345678
    NATIONAL9 = "national9"  # 712345678 (Airtel)


class InvalidCallback(ValueError):
    """A callback that is forged, unsigned where a signature is required, or malformed."""


class ProviderConfigError(ValueError):
    """Settings that cannot build an adapter (missing credential, unknown key)."""


class UnsupportedOperation(Exception):
    """The provider has no such API (e.g. Tigo push has no status query)."""


@dataclass(frozen=True, kw_only=True)
class Mapped:
    """What one raw provider status code means to us."""

    status: ProviderStatus
    ambiguous: bool = False  # the money may or may not have moved: query before deciding
    unknown_status: bool = False  # not in the reference tables: alert someone
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    signs_callbacks: bool
    supports_status_query: bool
    supports_refund: bool
    supports_partial_refund: bool
    sync_result: bool  # the initiate call itself can return the final outcome
    msisdn_format: MsisdnFormat
    currency: str = "TZS"
    min_amount_minor: int = 100  # 1 TZS; operators' own limits vary by merchant tier
    max_amount_minor: int = 5_000_000 * 100


@dataclass(frozen=True, kw_only=True)
class CollectionRequest:
    """Ask the payer's wallet for money (a USSD push).

    `reference` is our provider-safe id, 1-20 letters or digits (M-Pesa's limit, the
    strictest); adapters send it as their correlation id and return it in callbacks as
    `our_reference`. `channel` names the operator when an aggregator carries it.
    """

    topup_id: str
    reference: str
    msisdn: str
    amount_minor: int
    currency: str
    description: str
    callback_url: str
    channel: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_reference(self.reference)
        check_minor(self.amount_minor)


@dataclass(frozen=True, kw_only=True)
class StatusQuery:
    our_reference: str
    provider_ref: str | None = None  # ConversationID / Airtel id / Selcom order id
    provider_txn_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RefundRequest:
    """Give money back for a succeeded collection (a reversal where the operator says so)."""

    refund_reference: str  # our id for this refund, 1-20 letters or digits
    provider_txn_id: str  # the operator's receipt of the original payment
    original_reference: str  # the CollectionRequest.reference being refunded
    amount_minor: int  # what to give back
    original_amount_minor: int  # what was collected; more than amount_minor is partial
    currency: str
    msisdn: str
    reason: str

    def __post_init__(self) -> None:
        check_reference(self.refund_reference)
        check_minor(self.amount_minor)
        check_minor(self.original_amount_minor)
        if self.amount_minor > self.original_amount_minor:
            raise ValueError("cannot refund more than was collected")

    @property
    def partial(self) -> bool:
        return self.amount_minor < self.original_amount_minor


@dataclass(frozen=True, kw_only=True)
class ProviderResult:
    """The answer of initiate, status query or refund."""

    provider: str
    status: ProviderStatus
    provider_ref: str | None = None
    provider_txn_id: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    ambiguous: bool = False
    unknown_status: bool = False
    retryable: bool = False  # nothing reached the provider: safe to send again
    channel: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True, kw_only=True)
class CallbackEvent(ProviderResult):
    """A callback that passed its adapter's checks. `dedupe_key` is unique per fact, so
    repeats collapse.

    Its identifiers, amount and payer are *claims*: what the body says, vouched for only
    as far as `proof` goes. Nothing here is ever copied onto a top-up unless the proof
    allows it, and every identifier must equal what was stored at initiate.
    """

    dedupe_key: str
    our_reference: str | None
    proof: Proof
    msisdn: str | None = None
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class CallbackAck:
    """The HTTP answer the provider expects, already encoded."""

    status_code: int
    body: bytes
    content_type: str = "application/json"


_REFERENCE = re.compile(r"^[A-Za-z0-9]{1,20}$")


def check_reference(reference: str) -> None:
    """1-20 letters or digits: M-Pesa's INS-17 limit, and whitespace causes INS-1 (§9)."""
    if not isinstance(reference, str) or not _REFERENCE.match(reference):
        raise ValueError(f"reference {reference!r} must be 1-20 letters or digits")


def check_minor(amount_minor: object) -> None:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError("amounts are integer minor units")
    if amount_minor <= 0:
        raise ValueError("amount must be positive")


def unknown_outcome(provider: str, reason_code: str, reason: str) -> ProviderResult:
    """The request may have reached the provider but we never learnt what happened."""
    return ProviderResult(
        provider=provider,
        status=ProviderStatus.PENDING,
        ambiguous=True,
        reason_code=reason_code,
        reason=reason,
    )


def not_sent(provider: str, reason_code: str, reason: str) -> ProviderResult:
    """Nothing reached the provider, so no money can have moved."""
    return ProviderResult(
        provider=provider,
        status=ProviderStatus.FAILED,
        retryable=True,
        reason_code=reason_code,
        reason=reason,
    )


def dedupe_key(namespace: str, txn_id: str | None, reference: str | None, status: str) -> str:
    """`namespace:txn_id:status`, so a callback delivered five times is one fact.

    Without a receipt number (failed payments often have none) the key falls back to our
    reference. The status is part of the fact: a failure and a later success of the same
    transaction are two facts, and the success is never folded into the failure.
    """
    ident = txn_id or f"ref:{reference}"
    return f"{namespace}:{ident}:{status}"


class ProviderAdapter(Protocol):
    code: str
    capabilities: Capabilities

    def normalize_msisdn(self, msisdn: str) -> str: ...

    def initiate_collection(self, request: CollectionRequest) -> ProviderResult: ...

    def query_status(self, query: StatusQuery) -> ProviderResult: ...

    def refund(self, request: RefundRequest) -> ProviderResult: ...

    def parse_callback(
        self, headers: Mapping[str, str], raw_body: bytes, remote_addr: str | None
    ) -> CallbackEvent: ...

    def callback_ack(self, event: CallbackEvent | None, ok: bool) -> CallbackAck: ...

    def map_status(self, raw_code: str) -> Mapped: ...


AdapterFactory = Callable[..., ProviderAdapter]

# code -> "module:function"; imported lazily so the registry has no import cycles.
# Adding a provider is adding a package and one line here.
REGISTRY: dict[str, str] = {
    "mpesa": "providers.mpesa.adapter:build",
    "tigopesa": "providers.tigopesa.adapter:build",
    "airtelmoney": "providers.airtelmoney.adapter:build",
    "halopesa": "providers.selcom.adapter:build",
    "tpesa": "providers.selcom.adapter:build",
    "ezypesa": "providers.selcom.adapter:build",
    "card": "providers.stripe.adapter:build",  # Stripe: card top-ups, TZS and USD
}


def adapter_factory(code: str) -> AdapterFactory:
    try:
        target = REGISTRY[code]
    except KeyError:
        raise ProviderConfigError(f"unknown provider code {code!r}") from None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def build_adapter(code: str, settings: Mapping[str, Any], session: Any = None) -> ProviderAdapter:
    """Build the adapter for `code` from its settings (keys of that package's config)."""
    return adapter_factory(code)(code, settings, session=session)
