"""`billing demo` and the seed behind `make run`: Malipo end to end, on real paths.

The walk-through drives the HTTP API in-process through Flask's test client (the
same routes, schemas, auth and unit of work as a network call) against whatever
DATABASE_URL points at. Each capability adds its step here when it lands.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from billing.auth.models import Role
from billing.auth.service import create_staff, issue_key
from billing.core.money import Currency
from billing.ledger.jobs import audit_ledger
from billing.ledger.models import LedgerAudit
from billing.ledger.postings import ADJUSTMENTS, WALLET, Posting
from billing.ledger.service import post_transaction
from billing.runtime import current
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant

DEMO_OPENING_BALANCE = 50_000_00  # TZS 50,000.00


@dataclass(frozen=True)
class DemoKeys:
    admin_key: str
    tenant_id: str
    tenant_key: str


def seed(opening_balance: int = DEMO_OPENING_BALANCE) -> DemoKeys:
    """A staff admin and a prepaid demo tenant with an opening balance; fresh keys each call."""
    runtime = current()
    with runtime.unit_of_work() as session:
        _user, admin_key = create_staff(
            session, email=f"demo-admin-{uuid.uuid4().hex[:8]}@malipo.test", role=Role.ADMIN
        )
        tenant = create_tenant(
            session,
            NewTenant(
                name="Demo Duka Ltd",
                email="billing@demo-duka.co.tz",
                msisdn="255754000111",
                billing_mode=BillingMode.PREPAID,
                currency=Currency.TZS,
                tin="123456789",
                vrn="40012345K",
            ),
        )
        post_transaction(
            session,
            tenant_id=tenant.id,
            idempotency_key="demo:opening-balance",
            kind="adjustment",
            postings=[
                Posting(WALLET, Currency.TZS, opening_balance),
                Posting(ADJUSTMENTS, Currency.TZS, -opening_balance),
            ],
            description="demo opening balance",
        )
        _key, tenant_key = issue_key(
            session, role=Role.TENANT_ADMIN, tenant_id=tenant.id, label="demo"
        )
    return DemoKeys(admin_key, tenant.id, tenant_key)


def walkthrough(app: Flask, say: Callable[[str], None]) -> None:
    client = app.test_client()

    def call(method: str, path: str, key: str, body: dict | None = None) -> dict:
        response = client.open(
            path, method=method, json=body, headers={"Authorization": f"Bearer {key}"}
        )
        say(f"  {method} {path} → {response.status_code}")
        return response.get_json()

    say("1. Staff and a tenant")
    keys = seed()
    tenant = call("GET", f"/v1/tenants/{keys.tenant_id}", keys.admin_key)
    say(f"  tenant {tenant['id']}: {tenant['name']}, TIN {tenant['tin']}, VRN {tenant['vrn']}")

    say("2. The wallet and its ledger statement")
    wallet = call("GET", "/v1/wallet", keys.tenant_key)
    say(f"  balance {wallet['currency']} {wallet['balance'] / 100:,.2f}")
    entries = call("GET", "/v1/wallet/entries", keys.tenant_key)
    for entry in entries["items"]:
        say(
            f"  {entry['created_at']}  {entry['kind']:<10} {entry['amount']:>12,}  "
            f"→ {entry['balance_after']:>12,}  {entry['description']}"
        )

    say("3. Tenants are kept apart")
    other = seed(opening_balance=1_00)
    answer = client.get(
        f"/v1/tenants/{keys.tenant_id}", headers={"Authorization": f"Bearer {other.tenant_key}"}
    )
    say(f"  another tenant asking for {keys.tenant_id} → {answer.status_code}")

    say("4. The ledger audits itself")
    with current().unit_of_work() as session:
        audit = LedgerAudit(day=f"demo-{uuid.uuid4().hex[:5]}")
        session.add(audit)
    audit_ledger(audit.id)
    with current().sessions() as session:
        done = session.get(LedgerAudit, audit.id)
    say(f"  audit {done.id}: {done.status}, discrepancies {json.dumps(done.discrepancies)}")
