"""`billing demo` and the seed behind `make run`: Malipo end to end, on real paths.

The walk-through serves the app on a loopback port in sandbox mode and talks to it
over HTTP, so every step is the real path: routes, auth, the unit of work, jobs, the
simulated operators and their callbacks. Each capability adds its step when it lands.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from werkzeug.serving import make_server

from billing.auth.models import Role
from billing.auth.service import create_staff, issue_key
from billing.core.config import Settings
from billing.core.money import Currency
from billing.ledger.postings import ADJUSTMENTS, WALLET, Posting
from billing.ledger.service import post_transaction
from billing.runtime import EXTENSION, Runtime, current
from billing.tariffs.demo_step import authorisation_step
from billing.tariffs.seed import put_on_starter_plan
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant

DEMO_OPENING_BALANCE = 50_000_00  # TZS 50,000.00


@dataclass(frozen=True)
class DemoKeys:
    admin_key: str
    tenant_id: str
    tenant_key: str


def seed(runtime: Runtime | None = None, opening_balance: int = DEMO_OPENING_BALANCE) -> DemoKeys:
    """A staff admin and a prepaid demo tenant with an opening balance, on the starter
    plan (the standard prices, with monthly bundles); fresh keys each call."""
    runtime = runtime or current()
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
        put_on_starter_plan(session, tenant.id)
        _key, tenant_key = issue_key(
            session, role=Role.TENANT_ADMIN, tenant_id=tenant.id, label="demo"
        )
    return DemoKeys(admin_key, tenant.id, tenant_key)


# Loggers that would interleave their lines (werkzeug's request log, in colour) with the
# walk-through's: quiet below WARNING while it runs.
_CHATTY = ("", "werkzeug", "weasyprint", "weasyprint.progress", "fontTools", "billing")


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Only warnings and errors from the app and its libraries, for a clean walk-through."""
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextmanager
def serving(settings: Settings, port: int = 0) -> Iterator[tuple[str, Runtime]]:
    """The app on a loopback port (0: one the system picks), in sandbox mode, for the
    length of the demo. The server binds the port itself: no probe closed and re-bound."""
    from billing.app import create_app

    server = make_server("127.0.0.1", port, _not_yet, threaded=True)  # bound: the port is ours
    url = f"http://127.0.0.1:{server.server_port}"
    server.app = create_app(
        dataclasses.replace(settings, public_url=url, provider_mode="sandbox", sandbox_delay_s=0.3)
    )  # the app knows its own URL (the simulated operators call it back there)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield url, server.app.extensions[EXTENSION]
    finally:
        server.shutdown()


def _not_yet(_environ: dict, start_response: Callable) -> list[bytes]:
    """The WSGI app for the instant between binding the port and building the app."""
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def walkthrough(settings: Settings, say: Callable[[str], None], port: int = 0) -> None:
    from billing.cards.demo_step import card_step, stripe_fake

    with quiet_logs(), stripe_fake(settings) as settings, serving(settings, port) as (url, runtime):
        http = requests.Session()

        def call(
            method: str, path: str, key: str, body: dict | None = None, quiet: bool = False
        ) -> dict:
            response = http.request(
                method,
                f"{url}{path}",
                json=body,
                timeout=30,
                headers={"Authorization": f"Bearer {key}"},
            )
            if not quiet:
                say(f"  {method} {path} → {response.status_code}")
            return response.json()

        say(f"Malipo at {url} (sandbox: the operators are simulated, their formats are real)")
        say("1. Staff and a tenant")
        keys = seed(runtime)
        tenant = call("GET", f"/v1/tenants/{keys.tenant_id}", keys.admin_key)
        say(f"  tenant {tenant['id']}: {tenant['name']}, TIN {tenant['tin']}, VRN {tenant['vrn']}")

        say("2. A top-up by M-Pesa: USSD push, callback, reconciliation, one ledger credit")
        topup = call(
            "POST",
            "/v1/topups",
            keys.tenant_key,
            {"amount": 10_000_00, "currency": "TZS", "msisdn": "0754 000 111"},
        )
        for _ in range(50):
            topup = call("GET", f"/v1/topups/{topup['id']}", keys.tenant_key)
            if topup["status"] != "pending":
                break
            time.sleep(0.2)
        say(
            f"  top-up {topup['id']} by {topup['provider']}: {topup['status']}, "
            f"receipt {topup['provider_txn_id']}"
        )

        say("3. The wallet and its ledger statement")
        wallet = call("GET", "/v1/wallet", keys.tenant_key)
        say(f"  balance {wallet['currency']} {wallet['balance'] / 100:,.2f}")
        for entry in call("GET", "/v1/wallet/entries", keys.tenant_key)["items"]:
            say(
                f"  {entry['created_at'][:19]}  {entry['kind']:<10} {entry['amount']:>12,}"
                f"  → {entry['balance_after']:>12,}  {entry['description']}"
            )

        say("4. Tenants are kept apart")
        other = seed(runtime, opening_balance=1_00)
        answer = http.get(
            f"{url}/v1/topups/{topup['id']}",
            timeout=10,
            headers={"Authorization": f"Bearer {other.tenant_key}"},
        )
        say(f"  another tenant asking for {topup['id']} → {answer.status_code}")

        say("5. Money moves only on proof: a forged callback is evidence, never a credit")
        from billing.topups.demo_step import forged_callback_step

        forged_callback_step(http, url, call, keys.admin_key, keys.tenant_key, topup, say)

        say("6. Real-time authorisation from the plan, the destination and the wallet")
        authorisation_step(call, keys.admin_key, keys.tenant_id, say)

        say("7. Usage: an Asterisk CDR file imported, rated, bundles drawn, debited (net + VAT)")
        from billing.usage.demo_step import rate_a_cdr_file

        rate_a_cdr_file(http, url, keys.admin_key, keys.tenant_key, keys.tenant_id, say)
        say("7b. A message's statuses charge it once; a held authorisation settled by its CDR")
        from billing.usage.lifecycle_demo_step import lifecycle_step

        lifecycle_step(call, keys.admin_key, keys.tenant_key, keys.tenant_id, say)

        say("7c. Settlement: M-Pesa's statement of the day matched to the top-ups and the ledger")
        from billing.settlement.demo_step import reconcile_step

        reconcile_step(http, url, keys.admin_key, topup, say)

        say("8. The ledger audits itself")
        _audit(runtime, say)

        say(
            "9. Tax invoices: a postpaid month finalised, fiscalised with the simulated TRA,"
            " paid, credited and refunded; a late call billed next month; the daily Z report;"
            " the audit trail"
        )
        from billing.invoicing.demo import invoice_step

        invoice_step(url, runtime, say, topup.get("id"), keys.admin_key)
        say("9b. Receipts TRA took whose answer was lost: listed, and freed by a person")
        stuck = call("GET", "/v1/fiscal/stuck", keys.admin_key)["items"]
        say(
            f"  {len(stuck)} VFD queue(s) wait on such a receipt; `billing fiscal confirm` frees"
            " one once TRA's verification page shows it"
        )

        say("10. Cards through Stripe: a top-up paid by card, then an auto-recharge")
        card_step(url, runtime, call, keys.tenant_key, keys.tenant_id, say)
        say("10b. Stripe's payout of those card top-ups, matched line by line to the ledger")
        from billing.settlement.payouts.demo_step import payout_step

        payout_step(url, runtime, keys.admin_key, say)

        say("11. Operating it: /metrics for Prometheus, request ids, JSON logs")
        from billing.monitoring.demo_step import metrics_step

        metrics_step(http, url, say)

        say("12. Dunning: reminders, restriction past grace until paid, aged receivables")
        from billing.dunning.demo_step import dunning_step

        dunning_step(url, runtime, say, keys.admin_key)

        say("13. The tenant portal (a one-time link) and the back office (password + TOTP)")
        from billing.portal.demo_step import portal_step

        portal_step(url, runtime, call, keys.admin_key, keys.tenant_id, say)

        say("14. Privacy: the tenant's data export; another tenant erased within legal retention")
        from billing.privacy.demo_step import privacy_step

        privacy_step(http, url, call, keys.admin_key, keys.tenant_key, keys.tenant_id, say)

        say("15. A dispute: opened by the tenant, resolved by an admin, every step audited")
        from billing.disputes.demo_step import dispute_step

        dispute_step(call, runtime, keys.admin_key, keys.tenant_key, keys.tenant_id,
                     topup.get("id"), say)  # fmt: skip


def _audit(runtime: Runtime, say: Callable[[str], None]) -> None:
    from billing.ledger.integrity import find_discrepancies

    with runtime.sessions() as session:
        found = find_discrepancies(session)
    say(
        f"  balance = Σ entries, gapless versions, balanced transactions: "
        f"{found if found else 'all hold'}"
    )
