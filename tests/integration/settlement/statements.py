"""Top-ups in every state, and statements about them in each provider's format."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from billing.core.ids import new_id
from billing.ledger.service import post_transactions
from billing.runtime import Runtime
from billing.settlement.formats.lines import EAT
from billing.settlement.formats.mpesa import HEADER as MPESA_HEADER
from billing.topups.models import Topup, TopupStatus
from billing.topups.outcomes import credit_transaction


def a_day() -> date:
    """A statement day no other test uses: each test's top-ups are its own."""
    return date(2031, 1, 1) + timedelta(days=random.randrange(20_000))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), EAT)


def make_topup(
    runtime: Runtime,
    tenant_id: str,
    day: date,
    *,
    amount: int,
    provider: str = "mpesa",
    currency: str = "TZS",
    status: TopupStatus = TopupStatus.SUCCEEDED,
    hour: int = 10,
) -> Topup:
    """A top-up made on `day`; a succeeded one credited by its real ledger transaction."""
    with runtime.unit_of_work() as session:
        topup = Topup(
            id=new_id("top"),
            tenant_id=tenant_id,
            reference=uuid.uuid4().hex[:16].upper(),
            provider=provider,
            msisdn="255754000111",
            amount_minor=amount,
            currency=currency,
            status=TopupStatus.PENDING,
            provider_txn_id=f"R{uuid.uuid4().hex[:9].upper()}",
            created_at=at(day, hour),
        )
        session.add(topup)
        session.flush()
        if status is TopupStatus.SUCCEEDED:
            _credit(session, topup)
        else:
            topup.status = status
    return topup


def _credit(session: Session, topup: Topup) -> None:
    (posted,) = post_transactions(session, [credit_transaction(topup, topup.provider_txn_id)])
    topup.status = TopupStatus.SUCCEEDED
    topup.ledger_transaction_id = posted.id


def major(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def mpesa_statement(day: date, rows: list[str]) -> bytes:
    """An M-Pesa organisation statement: the portal's preamble, header and rows."""
    lines = [
        "Organization Name:,MALIPO COMMUNICATIONS LTD",
        f"Time Period:,{day:%d-%m-%Y} - {day:%d-%m-%Y}",
        "",
        MPESA_HEADER,
        *rows,
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def mpesa_paid(topup: Topup, day: date, *, amount: int | None = None, minute: int = 5) -> str:
    paid = amount if amount is not None else topup.amount_minor
    return (
        f"{topup.provider_txn_id},{at(day, 10, minute):%d-%m-%Y %H:%M:%S},"
        f'{at(day, 10, minute):%d-%m-%Y %H:%M:%S},Pay Bill Online,Completed,"{major(paid)}",,'
        f'"1,000,000.00",true,Pay Bill Online,255754000111 - JANE DOE,,{topup.reference}'
    )


def mpesa_charge(receipt: str, linked: str, day: date, fee: int) -> str:
    return (
        f"{receipt},{at(day, 10, 6):%d-%m-%Y %H:%M:%S},,Business Pay Bill Charge,Completed,,"
        f'-{major(fee)},"999,000.00",true,Business Pay Bill Charge,,{linked},'
    )


def mpesa_unknown(receipt: str, reference: str, day: date, amount: int) -> str:
    return (
        f'{receipt},{at(day, 11):%d-%m-%Y %H:%M:%S},,Pay Bill Online,Completed,"{major(amount)}",,'
        f'"1,000,000.00",true,Pay Bill Online,255754999999 - JOHN DOE,,{reference}'
    )


def mpesa_payout(receipt: str, day: date, amount: int) -> str:
    return (
        f"{receipt},{at(day, 17):%d-%m-%Y %H:%M:%S},,Organization Settle to Bank,Completed,,"
        f'"-{major(amount)}",0.00,true,Withdraw Funds to Bank,CRDB BANK,,'
    )


def mpesa_failed(receipt: str, day: date) -> str:
    return (
        f"{receipt},{at(day, 12):%d-%m-%Y %H:%M:%S},,Pay Bill Online,Failed,100.00,,"
        f'"1,000,000.00",false,Pay Bill Online,255754000222 - ANN,,X1'
    )
