"""The `billing demo` step for usage: an Asterisk CDR file imported, rated and debited,
the starter plan's voice bundle covering the first call and part of the second."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import fields

import requests

from billing.usage.tally import Tally

_ROWS = (
    # dst, answer, billsec, disposition: a peak-time call to Yas, one to Vodacom, no answer
    ("0712345678", "2026-03-02 09:00:05", 65, "ANSWERED"),
    ("0754000222", "2026-03-02 09:10:02", 181, "ANSWERED"),
    ("0784000333", "", 0, "NO ANSWER"),
)


def master_csv(account: str) -> str:
    """A small Master.csv as Asterisk's cdr_csv writes it (uniqueid and userfield on)."""
    lines = []
    for dst, answer, billsec, disposition in _ROWS:
        answered = f'"{answer}"' if answer else ""
        lines.append(
            f'"{account}","255754000111","{dst}","from-internal","""Demo"" <255754000111>",'
            f'"PJSIP/demo-01","PJSIP/trunk-02","Dial","PJSIP/trunk/{dst}",'
            f'"2026-03-02 09:00:00",{answered},"2026-03-02 09:20:00",{billsec + 10},{billsec},'
            f'"{disposition}","DOCUMENTATION","demo.{uuid.uuid4().hex[:12]}",""'
        )
    lines.append('"not","a","cdr"')
    return "\n".join(lines) + "\n"


def rate_a_cdr_file(
    http: requests.Session, url: str, admin_key: str, tenant_key: str, tenant_id: str,
    say: Callable[[str], None],
) -> None:  # fmt: skip
    admin = {"Authorization": f"Bearer {admin_key}"}
    response = http.post(
        f"{url}/v1/usage/cdrs/import",
        params={"format": "asterisk", "tenant_id": tenant_id},
        files={"file": ("Master.csv", master_csv(tenant_id).encode(), "text/csv")},
        headers=admin,
        timeout=60,
    )
    summary = response.json()
    say(f"  POST /v1/usage/cdrs/import?format=asterisk → {response.status_code}")
    # The same words as `billing import-cdrs` prints, from the API's summary.
    tally = Tally(**{name.name: summary[name.name] for name in fields(Tally)})
    say(f"  {tally.line()}")
    for sample in summary["rejected_samples"]:
        say(f"    rejected {sample['source_id']}: {sample['reason']}")
    tenant = {"Authorization": f"Bearer {tenant_key}"}
    usage = http.get(f"{url}/v1/usage", params={"service": "voice"}, headers=tenant, timeout=30)
    say(f"  GET /v1/usage?service=voice → {usage.status_code}")
    page = usage.json()
    for item in reversed(page["items"]):
        zone, seconds = item["zone"] or "-", item["billed_units"] or 0
        free = item["bundle_units"] or 0
        net, vat = (item["net"] or 0) / 100, (item["vat"] or 0) / 100
        say(
            f"  {item['destination']:<13} {zone:<15} {seconds:>4} s ({free:>3} s from bundle)"
            f"  net {net:>7,.2f}  VAT {vat:>6,.2f}  {item['status']}"
        )
    totals = page["totals"]
    say(
        f"  totals: {totals['records']} calls, net {totals['currency']} {totals['net'] / 100:,.2f}"
        f" + VAT {totals['vat'] / 100:,.2f}, debited from the wallet in one ledger transaction"
    )
    at = {"at": "2026-03-02T09:00:00+03:00"}  # the month the calls were made in
    bundles = http.get(f"{url}/v1/usage/bundles", params=at, headers=tenant, timeout=30)
    say(f"  GET /v1/usage/bundles?at=2026-03-02T09:00:00+03:00 → {bundles.status_code}")
    for bundle in bundles.json()["items"]:
        say(
            f"  bundle {bundle['bundle']} ({bundle['service']}, {bundle['period_start']} to"
            f" {bundle['period_end']}): {bundle['units_used']} of {bundle['units_granted']}"
            f" used, {bundle['units_remaining']} left"
        )
    wallet = http.get(f"{url}/v1/wallet", headers=tenant, timeout=30).json()
    say(f"  wallet now {wallet['currency']} {wallet['balance'] / 100:,.2f}")
