"""Whether a callback may move money: one rule for every provider, on every path.

A callback only *confirms* a payment we started; it never names which one. The top-up
is found by our own reference, and everything else the callback carries is a claim
checked against what we stored from verified sources (our initiate answer, a signed
callback, a status query). A claim that contradicts the top-up is evidence for a
person and moves nothing. A claim that agrees is applied as told only where the
provider vouches for it (`providers.base.Proof`); otherwise the provider is asked,
with the top-up's own stored ids, and its answer is what is applied.

`judge` is pure: the single (`jobs.apply_callback`) and the batch
(`reconcile_batch`) paths both ask it, holding the top-up's row lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

from billing.topups.gateways import simulator_for
from billing.topups.models import Topup, TopupStatus
from billing.topups.outcomes import Outcome, mismatch
from providers.base import TERMINAL, Proof, ProviderStatus

CREDITED = (TopupStatus.SUCCEEDED, TopupStatus.REFUNDED)
FINAL_FAILURES = (TopupStatus.FAILED, TopupStatus.CANCELLED, TopupStatus.EXPIRED)
IDENTIFIERS = ("provider_ref", "provider_txn_id")
FAILED = (ProviderStatus.FAILED, ProviderStatus.CANCELLED, ProviderStatus.EXPIRED)


@dataclass(frozen=True)
class Claim:
    """What a stored callback says: its provider family, our reference, and the rest."""

    family: str  # the inbox's provider: the operator, or the aggregator carrying three
    status: ProviderStatus
    proof: Proof
    our_reference: str
    provider_ref: str | None = None
    provider_txn_id: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    msisdn: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    unknown_status: bool = False

    @classmethod
    def of(cls, family: str, event: dict[str, Any]) -> Claim:
        """From the inbox's event record; a record from before proofs were kept has none."""
        return cls(
            family=family,
            status=ProviderStatus(event["status"]),
            proof=Proof(event.get("proof") or Proof.NONE),
            our_reference=event.get("our_reference") or "",
            **{name: event.get(name) for name in _CLAIMED},
        )

    def as_outcome(self) -> Outcome:
        """A proven claim, applied as told (`judge` said APPLY)."""
        if self.proof is Proof.NONE:
            raise ValueError("an unproven callback is confirmed by a status query, never applied")
        return Outcome(
            source=f"callback:{self.proof.value}",
            status=self.status,
            **{name: getattr(self, name) for name in _CLAIMED},
        )


_CLAIMED = (
    "provider_ref",
    "provider_txn_id",
    "amount_minor",
    "currency",
    "msisdn",
    "reason_code",
    "reason",
    "unknown_status",
)


class Verdict(StrEnum):
    APPLY = "apply"  # proven and consistent: apply it as told
    CONFIRM = "confirm"  # consistent but unproven: ask the provider with our stored ids
    SETTLED = "settled"  # nothing to do: it repeats what the top-up already is
    REVIEW = "review"  # contradicts what we know, or cannot be confirmed: a person looks


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    kind: str | None = None  # the review item's kind, for REVIEW
    detail: dict[str, Any] = field(default_factory=dict)


def judge(topup: Topup | Row | None, claim: Claim, *, can_query: bool) -> Judgement:
    """What a callback may do to the top-up its reference names (the caller holds its lock)."""
    if topup is None:
        return _review("unknown_reference", reference=claim.our_reference)
    contradiction = contradictions(topup, claim)
    if contradiction:
        return _review("identity_mismatch", mismatch=contradiction)
    if claim.status not in TERMINAL and not claim.unknown_status:
        return Judgement(Verdict.SETTLED)  # "still pending" moves nothing
    if claim.proof is not Proof.NONE:
        return Judgement(Verdict.APPLY)  # its amount is checked, and parked, as it is applied
    if claim.status is ProviderStatus.SUCCEEDED and (found := mismatch(topup, claim)):
        return _review("amount_mismatch", mismatch=found)
    if _repeats(topup, claim):
        return Judgement(Verdict.SETTLED)
    if claim.unknown_status:
        return _review("unknown_status", status_code=claim.reason_code)
    if not can_query:
        return _review("unconfirmed", why="unproven, and the provider has no status query")
    return Judgement(Verdict.CONFIRM)


def contradictions(topup: Topup | Row, claim: Claim) -> dict[str, list]:
    """Where the callback names another provider or another transaction than we stored."""
    found: dict[str, list] = {}
    if simulator_for(topup.provider) != claim.family:
        found["provider"] = [topup.provider, claim.family]
    for name in IDENTIFIERS:
        stored, claimed = getattr(topup, name), getattr(claim, name)
        if stored and claimed and stored != claimed:
            found[name] = [stored, claimed]
    return found


def disagreement(claim: Claim, answer: Outcome) -> dict[str, list]:
    """Where an unproven callback said other than the provider's own answer."""
    found: dict[str, list] = {}
    paid = ProviderStatus.SUCCEEDED
    if (claim.status is paid) is not (answer.status is paid):  # failed vs cancelled: both unpaid
        found["status"] = [claim.status.value, answer.status.value]
    claimed, told = claim.provider_txn_id, answer.provider_txn_id
    if claimed and told and claimed != told:
        found["provider_txn_id"] = [claimed, told]
    return found


def described(claim: Claim, answer: Outcome) -> Outcome:
    """The provider's answer, worded by the callback where both say it was not paid: a
    status query knows only "Cancelled" where the callback said "insufficient balance"."""
    if answer.status in FAILED and claim.status in FAILED:
        return replace(
            answer, status=claim.status, reason_code=claim.reason_code, reason=claim.reason
        )
    return answer


def _repeats(topup: Topup | Row, claim: Claim) -> bool:
    if claim.status is ProviderStatus.SUCCEEDED:
        return topup.status in CREDITED
    return topup.status in FINAL_FAILURES


def _review(kind: str, **detail: Any) -> Judgement:
    return Judgement(Verdict.REVIEW, kind, detail)
