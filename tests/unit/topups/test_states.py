"""The state tables: every state reachable, no way out of a final state but the
documented ones, and `move` refusing what the tables do not allow."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from billing.topups import states
from billing.topups.models import Initiation, RefundStatus, TopupStatus

# The only ways out of a final state, each on purpose: a late payment is credited,
# a credited top-up can be refunded in full.
DOCUMENTED_EXITS = {
    (TopupStatus.FAILED, TopupStatus.SUCCEEDED),
    (TopupStatus.CANCELLED, TopupStatus.SUCCEEDED),
    (TopupStatus.EXPIRED, TopupStatus.SUCCEEDED),
    (TopupStatus.SUCCEEDED, TopupStatus.REFUNDED),
}
FINAL = {
    TopupStatus: {
        TopupStatus.SUCCEEDED,
        TopupStatus.FAILED,
        TopupStatus.CANCELLED,
        TopupStatus.EXPIRED,
        TopupStatus.REFUNDED,
    },
    Initiation: {Initiation.SENT, Initiation.UNKNOWN},
    RefundStatus: {RefundStatus.SUCCEEDED, RefundStatus.FAILED},
}


@pytest.mark.parametrize("enum", list(states.TABLES))
def test_every_state_has_a_row_and_is_reachable_from_the_initial_one(enum):
    table = states.TABLES[enum]
    assert set(table) == set(enum)
    seen, frontier = set(), [states.INITIAL[enum]]
    while frontier:
        state = frontier.pop()
        if state not in seen:
            seen.add(state)
            frontier.extend(table[state])
    assert seen == set(enum)


@pytest.mark.parametrize("enum", list(states.TABLES))
def test_no_way_out_of_a_final_state_but_the_documented_ones(enum):
    table = states.TABLES[enum]
    exits = {(state, new) for state in FINAL[enum] for new in table[state]}
    assert exits <= DOCUMENTED_EXITS
    assert all(state not in table[state] for state in table)  # no self-loops


@pytest.mark.parametrize("enum", list(states.TABLES))
def test_a_non_final_state_can_always_move_on(enum):
    table = states.TABLES[enum]
    assert all(table[state] for state in set(enum) - FINAL[enum])


def test_move_applies_allowed_moves_and_refuses_the_rest():
    refund = SimpleNamespace(status=RefundStatus.REQUESTED)
    states.move(refund, "status", RefundStatus.SENDING)
    assert refund.status is RefundStatus.SENDING
    with pytest.raises(states.IllegalMove, match="already sending"):
        states.move(refund, "status", RefundStatus.SENDING)
    states.move(refund, "status", RefundStatus.SUCCEEDED)
    with pytest.raises(states.IllegalMove, match="succeeded -> failed"):
        states.move(refund, "status", RefundStatus.FAILED)
    assert refund.status is RefundStatus.SUCCEEDED


def test_from_states_is_the_claiming_where():
    assert states.from_states(states.REFUND, RefundStatus.SENDING) == (RefundStatus.REQUESTED,)
    assert states.from_states(states.INITIATION, Initiation.SENDING) == (Initiation.NOT_SENT,)
