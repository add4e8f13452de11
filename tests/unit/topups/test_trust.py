"""The one rule for callbacks (`billing.topups.trust.judge`), as a table of cases."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from billing.topups.models import TopupStatus
from billing.topups.outcomes import Outcome
from billing.topups.trust import Claim, Verdict, described, disagreement, judge
from providers.base import Proof, ProviderStatus

S = ProviderStatus


def topup(**changes) -> SimpleNamespace:
    stored = {
        "provider": "mpesa",
        "status": TopupStatus.PENDING,
        "provider_ref": "CONV1",
        "provider_txn_id": None,
        "amount_minor": 2_000_00,
        "currency": "TZS",
        "msisdn": "255754000999",
    }
    return SimpleNamespace(**{**stored, **changes})


def claim(**changes) -> Claim:
    said = {
        "family": "mpesa",
        "status": S.SUCCEEDED,
        "proof": Proof.NONE,
        "our_reference": "T1",
        "provider_ref": "CONV1",
    }
    return Claim(**{**said, **changes})


@pytest.mark.parametrize(
    ("stored", "said", "verdict", "kind"),
    [
        ({}, {}, Verdict.CONFIRM, None),
        ({}, {"proof": Proof.SIGNATURE}, Verdict.APPLY, None),
        ({}, {"status": S.FAILED}, Verdict.CONFIRM, None),  # failures are confirmed too
        ({}, {"provider_ref": "CONV2"}, Verdict.REVIEW, "identity_mismatch"),
        (
            {},
            {"provider_ref": "CONV2", "proof": Proof.SIGNATURE},
            Verdict.REVIEW,
            "identity_mismatch",
        ),
        ({"provider_txn_id": "R1"}, {"provider_txn_id": "R2"}, Verdict.REVIEW, "identity_mismatch"),
        ({}, {"family": "tigopesa", "proof": Proof.SOURCE}, Verdict.REVIEW, "identity_mismatch"),
        (
            {"provider": "halopesa"},
            {"family": "selcom", "provider_ref": None},
            Verdict.CONFIRM,
            None,
        ),
        ({}, {"amount_minor": 1_000_00}, Verdict.REVIEW, "amount_mismatch"),
        (
            {},
            {"amount_minor": 1_000_00, "proof": Proof.SOURCE},
            Verdict.APPLY,
            None,
        ),  # parked there
        ({}, {"status": S.PENDING}, Verdict.SETTLED, None),
        ({"status": TopupStatus.SUCCEEDED}, {}, Verdict.SETTLED, None),
        ({"status": TopupStatus.SUCCEEDED}, {"status": S.FAILED}, Verdict.CONFIRM, None),
        ({"status": TopupStatus.EXPIRED}, {}, Verdict.CONFIRM, None),  # a late success is asked
        ({}, {"provider_ref": None, "provider_txn_id": "R9"}, Verdict.CONFIRM, None),
    ],
)
def test_what_a_callback_may_do(stored, said, verdict, kind):
    judgement = judge(topup(**stored), claim(**said), can_query=True)
    assert (judgement.verdict, judgement.kind) == (verdict, kind)


def test_an_unknown_reference_and_an_unaskable_provider_go_to_a_person():
    assert judge(None, claim(), can_query=True).kind == "unknown_reference"
    assert judge(topup(), claim(), can_query=False).kind == "unconfirmed"


def test_an_unproven_claim_is_never_applied_as_told():
    with pytest.raises(ValueError):
        claim().as_outcome()
    assert claim(proof=Proof.SIGNATURE).as_outcome().source == "callback:signature"


def test_the_answer_decides_and_a_differing_callback_is_flagged():
    answer = Outcome(source="status_query", status=S.SUCCEEDED, provider_txn_id="R1")
    assert disagreement(claim(provider_txn_id="R1"), answer) == {}
    assert disagreement(claim(provider_txn_id="R2"), answer) == {"provider_txn_id": ["R2", "R1"]}
    assert disagreement(claim(status=S.FAILED), answer) == {"status": ["failed", "succeeded"]}
    cancelled = Outcome(source="status_query", status=S.CANCELLED)
    assert disagreement(claim(status=S.FAILED), cancelled) == {}  # both unpaid
    worded = described(claim(status=S.FAILED, reason="insufficient balance"), cancelled)
    assert (worded.status, worded.reason, worded.source) == (
        S.FAILED,
        "insufficient balance",
        "status_query",
    )
