"""The last step of `billing demo`: the tenant disputes a call it was charged for, an admin
takes it on, reads the evidence (the rating breakdown and the ledger entries), credits
the wallet; the tenant reads the outcome; the audit chain of it all verifies."""

from __future__ import annotations

from collections.abc import Callable

from billing.audit.verify import verify
from billing.runtime import Runtime

Call = Callable[..., dict]


def dispute_step(
    call: Call,
    runtime: Runtime,
    admin_key: str,
    tenant_key: str,
    tenant_id: str,
    topup_id: str | None,
    say: Callable[[str], None],
) -> None:
    usage = call("GET", "/v1/usage?limit=50&status=billed", tenant_key, quiet=True)["items"]
    charged = sorted((r for r in usage if r["net"]), key=lambda r: r["net"])
    if charged:  # the dearest call of the walk-through
        subject = {"subject_type": "usage", "subject_id": str(charged[-1]["id"])}
    else:
        subject = {"subject_type": "topup", "subject_id": topup_id}
    opened = call(
        "POST",
        "/v1/disputes",
        tenant_key,
        {
            **subject,
            "reason": "This call was never answered",
            "priority": "high",
        },
    )
    say(
        f"  tenant opened {opened['id']} on {opened['subject_type']} {opened['subject_id']}:"
        f" {opened['status']}, answer due by {opened['due_at'][:16]} (SLA {opened['sla']})"
    )
    path = f"/v1/disputes/{opened['id']}"
    taken = call("POST", f"{path}/assign", admin_key, {})
    call(
        "POST",
        f"{path}/comments",
        admin_key,
        {"body": "Switch logs show a 65 s answered call", "visibility": "internal"},
    )
    say(f"  admin took it on: {taken['status']}, owner {taken['owner_id']}")
    evidence = call("GET", f"{path}/evidence", admin_key)
    for record in evidence["usage"]:
        say(
            f"  evidence: {record['service']} to {record['to_number']}, zone {record['zone']},"
            f" {record['billed_units']} {record['unit']}s billed, net {record['net_minor']:,},"
            f" VAT {record['vat_minor']:,}, plan {record['plan_id']} v{record['plan_version']}"
        )
    for transaction in evidence["ledger_transactions"]:
        postings = ", ".join(f"{e['account']} {e['amount']:+,}" for e in transaction["entries"])
        say(f"  evidence: ledger #{transaction['id']} {transaction['kind']}: {postings}")
    amount = sum((r["net_minor"] or 0) + (r["vat_minor"] or 0) for r in evidence["usage"][-1:])
    resolved = call(
        "POST",
        f"{path}/resolve",
        admin_key,
        {
            "outcome": "credit",
            "amount": amount or 1_000_00,
            "note": "Goodwill: the call dropped at once",
        },
    )
    resolution = resolved["resolution"]
    say(
        f"  admin resolved it: {resolution['outcome']} {resolution['currency']}"
        f" {resolution['amount'] / 100:,.2f}, ledger transactions"
        f" {', '.join(resolution['ledger_transaction_ids'])}"
    )
    seen = call("GET", path, tenant_key, quiet=True)
    say(
        f"  the tenant reads: {seen['status']}, {len(seen['comments'])} comments it may see,"
        f" SLA {seen['sla']}: “{seen['resolution']['note']}”"
    )
    with runtime.sessions() as session:
        report = verify(session, f"tenant:{tenant_id}")
    state = "intact" if report.intact else f"BROKEN at {report.broken[0]}"
    say(f"  audit chain of {tenant_id}: {report.events} events, {state}")
