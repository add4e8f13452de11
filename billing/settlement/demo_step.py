"""The demo's step on settlement: M-Pesa's statement of the day imported and reconciled.

The statement is written as the M-Pesa organisation portal exports it: the demo's paid
top-up with its charge, a payment no top-up of ours names (the exception, sent to the
review queue), and the day's payout to the bank. Finance uploads it and reads the
summary of the day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import requests

from billing.settlement.formats.lines import EAT
from billing.settlement.formats.mpesa import HEADER


def _major(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def statement_for(topup: dict, now: datetime) -> bytes:
    stamp = now.astimezone(EAT).strftime("%d-%m-%Y %H:%M:%S")
    fee = 60_00
    unknown_receipt = f"U{topup['provider_txn_id'][-9:]}"
    rows = [
        "Organization Name:,MALIPO COMMUNICATIONS LTD",
        f"Time Period:,{stamp[:10]} - {stamp[:10]}",
        "",
        HEADER,
        f"{topup['provider_txn_id']},{stamp},{stamp},Pay Bill Online,Completed,"
        f"{_major(topup['amount'])},,0.00,true,Pay Bill Online,255754000111 - DEMO DUKA,,"
        f"{topup['reference']}",
        f"C{topup['provider_txn_id'][-9:]},{stamp},,Business Pay Bill Charge,Completed,,"
        f"-{_major(fee)},0.00,true,Business Pay Bill Charge,,{topup['provider_txn_id']},",
        f"{unknown_receipt},{stamp},{stamp},Pay Bill Online,Completed,2500.00,,0.00,true,"
        "Pay Bill Online,255754999999 - UNKNOWN PAYER,,NOT-OURS",
        f"S{topup['provider_txn_id'][-9:]},{stamp},,Organization Settle to Bank,Completed,,"
        f"-{_major(topup['amount'] - fee)},0.00,true,Withdraw Funds to Bank,CRDB BANK,,",
    ]
    return ("\r\n".join(rows) + "\r\n").encode()


def reconcile_step(
    http: requests.Session, url: str, admin_key: str, topup: dict, say: Callable[[str], None]
) -> None:
    from billing.core.clock import utcnow

    headers = {"Authorization": f"Bearer {admin_key}"}
    body = statement_for(topup, utcnow())
    answer = http.post(
        f"{url}/v1/reconciliations?provider=mpesa",
        files={"file": ("mpesa-statement.csv", body, "text/csv")},
        headers=headers,
        timeout=60,
    )
    statement = answer.json()
    say(f"  POST /v1/reconciliations?provider=mpesa → {answer.status_code}")
    outcomes = statement["totals"]["outcomes"]
    counted = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(outcomes.items()))
    say(f"  statement {statement['id']}: {statement['lines']} lines: {counted}")
    items = http.get(
        f"{url}/v1/review-items?kind=statement_unknown_payment", headers=headers, timeout=30
    ).json()
    mine = [item for item in items if item["detail"].get("statement_id") == statement["id"]]
    for item in mine:
        say(f"  review item: {item['kind']}: {item['summary']}")
    day = utcnow().astimezone(EAT).date().isoformat()
    rows = http.get(
        f"{url}/v1/reconciliations/summary?day={day}&provider=mpesa", headers=headers, timeout=30
    ).json()
    for row in rows:
        say(
            f"  {row['day']} {row['provider']} {row['currency']}: gross {_major(row['gross'])},"
            f" fees {_major(row['fees'])}, net {_major(row['net'])},"
            f" paid to bank {_major(row['paid_to_bank'])}; {row['matched']} matched,"
            f" {sum(row['exceptions'].values())} exception(s)"
        )
    again = http.post(
        f"{url}/v1/reconciliations?provider=mpesa",
        files={"file": ("mpesa-statement.csv", body, "text/csv")},
        headers=headers,
        timeout=60,
    ).json()
    say(f"  the same file again: reimported={str(again['reimported']).lower()}, nothing changed")
