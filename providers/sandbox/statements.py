"""The simulators' settlement statements: each operator's day of paid pushes, written in
the statement format Malipo's reconciliation reads for that operator (billing.settlement
.formats, whose docstrings say where each layout comes from).

`GET /sandbox/<simulator>/statement?date=YYYY-MM-DD` answers the day (East Africa Time)
as CSV, 204 when no money moved that day: every payment with the money that actually
moved (so a scenario that paid another amount shows it, and a payment whose callback
never came is on it), the simulated charge (1 %, the operator's fee) and the day's
payout of the net to the merchant's bank. Refunds are not listed: a statement of collections.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, Response, request

from providers.sandbox.payments import Payment, PaymentBook

EAT = timezone(timedelta(hours=3), "EAT")
Writer = Callable[[list[Payment], date], list[list[str]]]


def fee_cents(payment: Payment) -> int:
    """The simulated charge: 1 % of what was paid (whole shillings, so in cents: paid)."""
    return payment.paid


def _money(cents: int, sign: str = "") -> str:
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return (moment or datetime.now(EAT)).astimezone(EAT).strftime(fmt)


def _net(payments: list[Payment]) -> int:
    return sum(p.paid * 100 - fee_cents(p) for p in payments)


def mpesa(payments: list[Payment], day: date) -> list[list[str]]:
    rows = [
        ["Organization Name:", "MALIPO SANDBOX"],
        ["Time Period:", f"{day:%d-%m-%Y} - {day:%d-%m-%Y}"],
        [],
        ["Receipt No.", "Completion Time", "Initiation Time", "Details", "Transaction Status",
         "Paid In", "Withdrawn", "Balance", "Balance Confirmed", "Reason Type",
         "Other Party Info", "Linked Transaction ID", "A/C No."],
    ]  # fmt: skip
    for p in payments:
        at = _local(p.paid_at, "%d-%m-%Y %H:%M:%S")
        rows.append([p.receipt, at, at, "Pay Bill Online", "Completed", _money(p.paid * 100), "",
                     "", "true", "Pay Bill Online", f"{p.msisdn} - SANDBOX PAYER", "",
                     p.reference])  # fmt: skip
        rows.append([f"C{p.receipt}", at, at, "Business Pay Bill Charge", "Completed", "",
                     _money(fee_cents(p), "-"), "", "true", "Business Pay Bill Charge", "",
                     p.receipt, ""])  # fmt: skip
    if payments:
        rows.append([f"S{day:%Y%m%d}", f"{day:%d-%m-%Y} 23:59:00", "",
                     "Organization Settle to Bank", "Completed", "", _money(_net(payments), "-"),
                     "0.00", "true", "Withdraw Funds to Bank", "SANDBOX BANK", "", ""])  # fmt: skip
    return rows


def tigopesa(payments: list[Payment], day: date) -> list[list[str]]:
    rows = [["Date", "MFSTransactionID", "ReferenceID", "CustomerMSISDN", "Amount", "Charges",
             "Currency", "Status", "Type"]]  # fmt: skip
    for p in payments:
        rows.append([_local(p.paid_at), p.receipt, p.reference, p.msisdn, _money(p.paid * 100),
                     _money(fee_cents(p)), "TZS", "SUCCESS", "PAYMENT"])  # fmt: skip
    if payments:
        rows.append([f"{day} 23:59:00", "", "", "", _money(_net(payments)), "", "TZS",
                     "SUCCESS", "SETTLEMENT"])  # fmt: skip
    return rows


def airtelmoney(payments: list[Payment], day: date) -> list[list[str]]:
    rows = [["Transaction Date", "Transaction ID", "Airtel Money ID", "MSISDN", "Amount",
             "Service Charge", "Currency", "Status"]]  # fmt: skip
    for p in payments:
        rows.append([_local(p.paid_at), p.reference, p.receipt, p.msisdn[-9:],
                     _money(p.paid * 100), _money(fee_cents(p)), "TZS", "TS"])  # fmt: skip
    if payments:
        rows.append([f"{day} 23:59:00", "", "", "", _money(_net(payments)), "", "TZS", "SETTLED"])
    return rows


def selcom(payments: list[Payment], day: date) -> list[list[str]]:
    rows = [["Date", "Type", "Order ID", "Transaction ID", "Selcom Reference", "Channel",
             "MSISDN", "Amount", "Charges", "Currency", "Status"]]  # fmt: skip
    for p in payments:
        rows.append([_local(p.paid_at), "COLLECTION", p.reference, p.extra.get("transid", ""),
                     p.receipt, p.extra.get("channel") or "HALOPESA", p.msisdn,
                     _money(p.paid * 100), _money(fee_cents(p)), "TZS", "COMPLETED"])  # fmt: skip
    if payments:
        rows.append([f"{day} 23:59:00", "SETTLEMENT", "", "", f"S{day:%Y%m%d}", "BANK", "",
                     _money(_net(payments)), "", "TZS", "COMPLETED"])  # fmt: skip
    return rows


def statement_csv(book: PaymentBook, writer: Writer, day: date) -> str | None:
    """The day's statement; None when no money moved that day (no statement is issued)."""
    start = datetime.combine(day, time(), EAT)
    paid = [p for p in book.paid_between(start, start + timedelta(days=1)) if p.paid]
    if not paid:
        return None
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(writer(paid, day))
    return buffer.getvalue()


def add_statement_route(bp: Blueprint, book: Callable[[], PaymentBook], writer: Writer) -> None:
    """`GET <prefix>/statement?date=YYYY-MM-DD` on the simulator's blueprint."""

    def statement() -> Response:
        try:
            day = date.fromisoformat(request.args.get("date", ""))
        except ValueError:
            return Response("date: YYYY-MM-DD\n", status=400, mimetype="text/plain")
        text = statement_csv(book(), writer, day)
        if text is None:
            return Response(status=204)
        return Response(text, mimetype="text/csv")

    bp.add_url_rule("/statement", "statement", statement, methods=["GET"])
