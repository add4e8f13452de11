import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.errors import InvalidInput
from billing.core.money import Currency
from billing.ledger.postings import (
    WALLET,
    Posting,
    allows_negative,
    clearing,
    plan,
    request_digest,
    validate,
)

TZS = Currency.TZS


def test_a_balanced_pair_is_valid():
    validate([Posting(WALLET, TZS, 500), Posting(clearing("mpesa"), TZS, -500)])


@pytest.mark.parametrize(
    ("postings", "message"),
    [
        ([Posting(WALLET, TZS, 1)], "at least two"),
        ([Posting(WALLET, TZS, 1), Posting("revenue:usage", TZS, -2)], "do not sum to zero"),
        ([Posting(WALLET, TZS, 0), Posting("revenue:usage", TZS, 0)], "non-zero integer"),
        ([Posting("Wallet!", TZS, 1), Posting("revenue:usage", TZS, -1)], "unknown account kind"),
        ([Posting(WALLET, TZS, 1.0), Posting("revenue:usage", TZS, -1.0)], "non-zero integer"),
    ],
)
def test_invalid_requests_name_the_postings(postings, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        validate(postings)
    assert list(refused.value.errors) == ["postings"]


def test_each_currency_balances_on_its_own():
    with pytest.raises(InvalidInput, match="USD"):
        validate([Posting(WALLET, TZS, 100), Posting(WALLET, Currency.USD, -100)])


def test_only_the_wallet_is_kept_from_going_negative():
    assert not allows_negative(WALLET)
    assert allows_negative(clearing("airtelmoney")) and allows_negative("revenue:usage")


@given(st.permutations([("wallet", 300), ("revenue:usage", -200), ("vat:payable", -100)]))
def test_the_digest_ignores_posting_order(order):
    postings = [Posting(kind, TZS, amount) for kind, amount in order]
    reference = [
        Posting("wallet", TZS, 300),
        Posting("revenue:usage", TZS, -200),
        Posting("vat:payable", TZS, -100),
    ]
    assert request_digest("usage", postings, "", None, None) == request_digest(
        "usage", reference, "", None, None
    )


def test_the_digest_changes_with_any_content():
    base = [Posting(WALLET, TZS, 5), Posting("revenue:usage", TZS, -5)]
    digests = {
        request_digest("usage", base, "", None, None),
        request_digest("topup", base, "", None, None),
        request_digest("usage", base, "other", None, None),
        request_digest("usage", base, "", "ref", None),
        request_digest("usage", base, "", None, 7),
        request_digest(
            "usage", [Posting(WALLET, TZS, 6), Posting("revenue:usage", TZS, -6)], "", None, None
        ),
    }
    assert len(digests) == 6


postings_strategy = st.lists(
    st.tuples(
        st.sampled_from(["wallet", "revenue:usage", "vat:payable", "clearing:mpesa"]),
        st.sampled_from([Currency.TZS, Currency.USD]),
        st.integers(-10_000, 10_000).filter(bool),
    ),
    min_size=1,
    max_size=12,
)


@given(postings_strategy, st.integers(0, 10**6), st.integers(0, 100))
def test_a_plan_places_every_entry_where_a_sequential_posting_would(raw, start, version):
    postings = [Posting(kind, currency, amount) for kind, currency, amount in raw]
    planned = plan(postings)
    keys = [(a.kind, a.currency) for a in planned.accounts]
    assert keys == sorted(set(keys))  # each account once, in lock order
    # Apply the plan as the database does: final figures first, entries by offset.
    finals = {
        key: (start + a.delta, version + a.entries)
        for key, a in zip(keys, planned.accounts, strict=True)
    }
    running = {key: (start, version) for key in keys}
    for posting, entry in zip(postings, planned.entries, strict=True):
        key = keys[entry.account]
        assert key == (posting.account_kind, str(posting.currency))
        balance, seen = running[key]
        running[key] = (balance + posting.amount_minor, seen + 1)
        final_balance, final_version = finals[key]
        assert final_balance + entry.balance_offset == running[key][0]
        assert final_version + entry.version_offset == running[key][1]
    assert running == finals
