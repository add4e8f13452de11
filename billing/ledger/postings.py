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

from billing.core.errors import InsufficientFunds, InvalidInput
from billing.core.money import Currency

WALLET = "wallet"
USAGE_REVENUE = "revenue:usage"
VAT_PAYABLE = "vat:payable"
# VAT accounted when a prepayment was receipted, cleared as prepaid usage draws it down.
VAT_ON_PREPAYMENTS = "vat:prepayments"
RECEIVABLE = "receivable"  # what a postpaid tenant owes on issued invoices
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


@dataclass(frozen=True, slots=True)
class AccountChange:
    kind: str
    currency: str
    delta: int
    entries: int


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """An entry, placed relative to its account's final balance and version.

    The final figures are known only once the account row is updated; the entry's
    balance after is `final balance + balance_offset` (likewise its version).
    """

    account: int  # index into PostingPlan.accounts
    amount_minor: int
    balance_offset: int
    version_offset: int


@dataclass(frozen=True, slots=True)
class PostingPlan:
    accounts: list[AccountChange]  # each account once, in the fixed lock order
    entries: list[PlannedEntry]  # in request order


def plan(postings: Sequence[Posting]) -> PostingPlan:
    keys = sorted({p.account_key for p in postings})
    index = {key: i for i, key in enumerate(keys)}
    totals, counts = [0] * len(keys), [0] * len(keys)
    for posting in postings:
        totals[index[posting.account_key]] += posting.amount_minor
        counts[index[posting.account_key]] += 1
    running, position = [0] * len(keys), [0] * len(keys)
    entries = []
    for posting in postings:
        i = index[posting.account_key]
        running[i] += posting.amount_minor
        position[i] += 1
        entries.append(
            PlannedEntry(i, posting.amount_minor, running[i] - totals[i], position[i] - counts[i])
        )
    accounts = [
        AccountChange(kind, currency, totals[i], counts[i])
        for i, (kind, currency) in enumerate(keys)
    ]
    return PostingPlan(accounts, entries)


def insufficient_funds(kind: str) -> InsufficientFunds:
    """The error of a posting that would take a `kind` account below zero."""
    return InsufficientFunds(
        f"the {kind} account cannot go below zero",
        {"amount": ["exceeds the available balance"]},
    )
