"""What a ledger transaction asks for, validated before any row is touched (pure).

A `Posting` names an account by its kind and currency within the transaction's
tenant; `validate()` enforces the double-entry rules, and `request_digest()`
fingerprints the request so a replayed idempotency key can be told apart from a
reused one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from billing.core.errors import InvalidInput
from billing.core.money import Currency

WALLET = "wallet"
USAGE_REVENUE = "revenue:usage"
VAT_PAYABLE = "vat:payable"
ADJUSTMENTS = "adjustments"

_KIND = re.compile(r"[a-z_]+(:[a-z0-9_]+)?")


def clearing(provider: str) -> str:
    """The account holding what a payment provider owes us for collected top-ups."""
    return f"clearing:{provider}"


def allows_negative(kind: str) -> bool:
    """Only a tenant's wallet is money the tenant has; it can never be overdrawn."""
    return kind != WALLET


@dataclass(frozen=True, slots=True)
class Posting:
    account_kind: str
    currency: Currency
    amount_minor: int

    @property
    def account_key(self) -> tuple[str, str]:
        return (self.account_kind, str(self.currency))


def validate(postings: Sequence[Posting]) -> None:
    if len(postings) < 2:
        raise InvalidInput.on("postings", "a transaction has at least two postings")
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        if not _KIND.fullmatch(posting.account_kind):
            raise InvalidInput.on("postings", f"unknown account kind {posting.account_kind!r}")
        if type(posting.amount_minor) is not int or posting.amount_minor == 0:
            raise InvalidInput.on("postings", "each amount is a non-zero integer of minor units")
        totals[Currency(posting.currency)] += posting.amount_minor
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        raise InvalidInput.on("postings", f"postings do not sum to zero: {unbalanced}")


def request_digest(
    kind: str,
    postings: Sequence[Posting],
    description: str,
    reference: str | None,
    reverses_id: int | None,
) -> str:
    canonical = json.dumps(
        {
            "kind": kind,
            "postings": sorted([p.account_kind, str(p.currency), p.amount_minor] for p in postings),
            "description": description,
            "reference": reference,
            "reverses_id": reverses_id,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
