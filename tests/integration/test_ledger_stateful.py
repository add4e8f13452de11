"""A model-based test of the ledger: random top-ups, charges, duplicates and reversals
against PostgreSQL, checked after every step against a model and the invariants."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing.core.errors import Conflict, IdempotencyKeyReused, InsufficientFunds
from billing.ledger.balances import account_balance
from billing.ledger.integrity import find_discrepancies
from billing.ledger.postings import WALLET
from billing.ledger.service import reverse_transaction
from tests.factories import charge, top_up

pytestmark = pytest.mark.integration

amounts = st.integers(min_value=1, max_value=50_000)
keys = st.sampled_from([f"k{i}" for i in range(12)])  # few keys: plenty of duplicates


class LedgerMachine(RuleBasedStateMachine):
    sessions = None
    make_tenant = None

    @initialize()
    def open_tenants(self) -> None:
        self.tenants = [self.make_tenant().tenant_id for _ in range(2)]
        self.balance = dict.fromkeys(self.tenants, 0)
        self.posted: dict[tuple[str, str], tuple[str, int, int]] = {}  # (tenant, key) → what
        self.reversed: set[int] = set()

    def _post(self, tenant: str, kind: str, amount: int, key: str) -> None:
        move = top_up if kind == "topup" else charge
        earlier = self.posted.get((tenant, key))
        try:
            with self.sessions.begin() as session:
                result = move(session, tenant, amount, key=key)
        except IdempotencyKeyReused:
            assert earlier is not None and earlier[:2] != (kind, amount)
            return
        except InsufficientFunds:
            assert earlier is None and kind == "charge" and amount > self.balance[tenant]
            return
        if earlier is not None:
            assert result.replayed and result.id == earlier[2] and earlier[:2] == (kind, amount)
            return
        assert not result.replayed
        self.posted[(tenant, key)] = (kind, amount, result.id)
        self.balance[tenant] += amount if kind == "topup" else -amount

    @rule(index=st.integers(0, 1), amount=amounts, key=keys)
    def top_up(self, index: int, amount: int, key: str) -> None:
        self._post(self.tenants[index], "topup", amount, key)

    @rule(index=st.integers(0, 1), amount=amounts, key=keys)
    def charge(self, index: int, amount: int, key: str) -> None:
        self._post(self.tenants[index], "charge", amount, key)

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay_a_posted_key(self, data: st.DataObject) -> None:
        (tenant, key), (kind, amount, _id) = data.draw(st.sampled_from(sorted(self.posted.items())))
        self._post(tenant, kind, amount, key)

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        (tenant, _key), (kind, amount, txn) = data.draw(
            st.sampled_from(sorted(self.posted.items()))
        )
        effect = -amount if kind == "topup" else amount
        try:
            with self.sessions.begin() as session:
                reverse_transaction(
                    session,
                    tenant_id=tenant,
                    transaction_id=txn,
                    idempotency_key=f"reverse:{txn}:{len(self.reversed)}",
                    reason="test",
                )
        except Conflict:
            assert txn in self.reversed
            return
        except InsufficientFunds:
            assert self.balance[tenant] + effect < 0
            return
        assert txn not in self.reversed
        self.reversed.add(txn)
        self.balance[tenant] += effect

    @invariant()
    def wallets_match_the_model_and_the_books_balance(self) -> None:
        if not hasattr(self, "tenants"):
            return
        with self.sessions() as session:
            for tenant in self.tenants:
                stored = account_balance(session, tenant, WALLET, "TZS").balance_minor
                assert stored == self.balance[tenant] >= 0
                assert find_discrepancies(session, tenant) == []


def test_the_ledger_behaves_like_its_model(sessions, make_tenant):
    LedgerMachine.sessions = sessions
    LedgerMachine.make_tenant = staticmethod(make_tenant)
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
