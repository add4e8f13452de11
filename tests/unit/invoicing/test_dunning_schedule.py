"""Which dunning steps an invoice is due, and the aged-receivables buckets (pure)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing.dunning.schedule import bucket, due_steps

DUE = date(2026, 12, 21)


def test_nothing_until_the_day_after_the_due_date():
    assert due_steps(DUE, DUE, (1, 7, 14), 21) == due_steps(DUE, DUE - timedelta(9), (1,), 1)
    assert due_steps(DUE, DUE, (1, 7, 14), 21).reminders == 0


def test_reminders_on_the_schedule_then_restriction_after_grace():
    at = [due_steps(DUE, DUE + timedelta(days=d), (1, 7, 14), 21) for d in (1, 6, 7, 14, 20, 21)]
    assert [s.reminders for s in at] == [1, 1, 2, 3, 3, 3]
    assert [s.restrict for s in at] == [False] * 5 + [True]


@given(st.integers(min_value=-30, max_value=400), st.sets(st.integers(1, 60), max_size=5))
def test_reminders_never_run_backwards(days, schedule):
    now = due_steps(DUE, DUE + timedelta(days=days), sorted(schedule), 30)
    later = due_steps(DUE, DUE + timedelta(days=days + 1), sorted(schedule), 30)
    assert 0 <= now.reminders <= later.reminders <= len(schedule)
    assert now.restrict <= later.restrict


def test_buckets():
    assert [bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 400, -1)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+", "0-30"]  # fmt: skip
