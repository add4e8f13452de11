"""The invoice state machine and the period parser: pure, no I/O."""

from __future__ import annotations

from datetime import date

import pytest

from billing.invoicing import states
from billing.invoicing.numbering import format_number, series_for
from billing.invoicing.runs import month
from billing.invoicing.states import DocumentKind, InvoiceSource, InvoiceStatus, TransitionRefused

S = InvoiceStatus


def test_the_happy_path_and_the_tra_down_path_both_end_sent():
    assert states.acknowledged(states.finalise(S.DRAFT)) is S.FISCALISED
    assert states.delivered(S.FISCALISED) is S.SENT
    assert states.delivered(S.FINALISED) is S.SENT  # out before TRA answered
    assert states.acknowledged(S.SENT) is S.SENT  # and fiscalised later


@pytest.mark.parametrize("status", [S.FINALISED, S.FISCALISED, S.SENT])
def test_nothing_final_is_voided_or_finalised_again(status):
    with pytest.raises(TransitionRefused, match="credit note"):
        states.void(status)
    with pytest.raises(TransitionRefused):
        states.finalise(status)


def test_drafts_are_voided_once_and_never_acknowledged_or_delivered():
    assert states.void(S.DRAFT) is S.VOID
    for move in (states.void, states.finalise, states.acknowledged, states.delivered):
        with pytest.raises(TransitionRefused):
            move(S.VOID)
    with pytest.raises(TransitionRefused):
        states.acknowledged(S.DRAFT)
    with pytest.raises(TransitionRefused):
        states.delivered(S.DRAFT)


def test_only_final_invoices_are_credited():
    assert states.can_credit(S.SENT, DocumentKind.INVOICE)
    assert not states.can_credit(S.DRAFT, DocumentKind.INVOICE)
    assert not states.can_credit(S.SENT, DocumentKind.CREDIT_NOTE)


def test_each_kind_of_document_has_its_series():
    assert series_for(DocumentKind.INVOICE, InvoiceSource.POSTPAID) == "INV"
    assert series_for(DocumentKind.INVOICE, InvoiceSource.TOPUP) == "RCP"
    assert series_for(DocumentKind.CREDIT_NOTE, InvoiceSource.CREDIT) == "CN"
    assert format_number("INV", 42) == "INV-000042"


def test_a_period_is_a_calendar_month_with_an_exclusive_end():
    assert month("2026-10") == (date(2026, 10, 1), date(2026, 11, 1))
    assert month("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert month("2028-02") == (date(2028, 2, 1), date(2028, 3, 1))
    for bad in ("2026-13", "2026-1x", "26-10", "2026"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            month(bad)
