"""`billing demo` walks through the whole product on the embedded default; keep it working."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e.conftest import BILLING

pytestmark = pytest.mark.e2e


def demo(env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [BILLING, "demo"], env=env, capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # A clean walk-through: no library log lines (werkzeug's request log, the PDF
    # renderer's progress) and no colour escapes mixed into what it prints.
    assert "\x1b" not in done.stdout + done.stderr
    assert done.stderr == "", done.stderr[-2000:]
    return done


def test_the_demo_runs_on_a_fresh_sqlite_database_and_again(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    env.pop("REDIS_URL", None)
    subprocess.run([BILLING, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    done = demo(env, tmp_path)
    assert "by mpesa: succeeded" in done.stdout
    assert "balance TZS 60,000.00" in done.stdout
    assert "→ 404" in done.stdout
    assert "checksums hold" in done.stdout  # the data export, against its manifest
    assert "erasure completed: tenant closed" in done.stdout
    assert "review item: identity_mismatch" in done.stdout  # a forged callback: evidence only
    assert "still failed; balance 60,000.00 → 60,000.00" in done.stdout
    assert "authorise voice to 0754 000 111: allowed=True" in done.stdout
    # the starter plan's 120 s mobile bundle: the first call free, the second split
    assert "65 s ( 65 s from bundle)  net    0.00" in done.stdout
    assert "181 s ( 55 s from bundle)  net  147.00" in done.stdout
    assert "mobile-minutes (voice, 2026-03-01 to 2026-04-01): 120 of 120 used" in done.stdout
    assert "all hold" in done.stdout
    # M-Pesa's statement: the top-up matched, a stranger's payment to the review queue.
    assert "1 fee, 1 matched, 1 payout, 1 unknown payment" in done.stdout
    assert "review item: statement_unknown_payment" in done.stdout
    assert "reimported=true, nothing changed" in done.stdout
    # Issue 14: Stripe's payout of the card top-ups, every line matched to the ledger.
    payout = done.stdout.split("10b.")[1].split("\n11.")[0]
    assert "POST /v1/stripe-payouts → 200" in payout
    outcomes = [line.rsplit("  ", 1)[-1] for line in payout.splitlines() if "  ch_" in line]
    assert outcomes == ["matched", "matched"], payout
    assert "- disputes TZS 0.00 = TZS 43,694.40; paid out TZS 43,694.40: reconciles" in payout
    # Issue 19: a message's statuses charge it once; a held call settled by its CDR.
    assert "sent accepted → record" in done.stdout and "net 0.00" in done.stdout
    assert "read updated, delivered duplicate → record" in done.stdout
    assert ", billed, net 55.13" in done.stdout
    assert "the hold settled" in done.stdout and "reserved 0.00" in done.stdout
    assert "verification code" in done.stdout and ": acknowledged" in done.stdout
    pdf = tmp_path / "var" / "demo" / "INV-000001.pdf"
    assert f"written to {pdf}" in done.stdout
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "fiscal receipt RCP-000001" in done.stdout
    assert "P.O. Box 20456, Dar es Salaam, Tanzania; documents in sw" in done.stdout
    assert "WhatsApp messages, TZ-MOB-VODACOM: 2000.00 message x 0.015 = 30.00" in done.stdout
    assert "in Swahili" in done.stdout and "rendered 1 time(s)" in done.stdout
    assert "paid by bank transfer: paid, TZS 0.00 left to pay" in done.stdout
    assert "credit note CN-000001 after payment" in done.stdout
    assert "refunded by mobile money" in done.stdout and "TZS 0.00 of credit left" in done.stdout
    assert "on November's draft: Late usage of 2026-10: Voice calls" in done.stdout
    assert "Z report 2" in done.stdout and "TRA acknowledged" in done.stdout
    assert (
        "invoice.finalised, invoice.fiscalised, invoice.original_issued, invoice.payment_recorded"
        in done.stdout
    )
    # The documents as an accountant reads them, and one original (VAT Act s.86(4)).
    assert "Simu kwenda Vodacom: 30 dakika x 90.00 = 2,700.00" in done.stdout
    assert "Kipindi cha ankara 1\u201331 Oktoba 2026; Tarehe ya mwisho ya kulipa" in done.stdout
    assert "M-Pesa Lipa Namba 5123456, kumbukumbu INV-000001" in done.stdout
    assert "the first download was the original (X-Document-Copy: false)" in done.stdout
    assert (tmp_path / "var" / "demo" / "INV-000001-nakala.pdf").exists()
    # Dunning: restricted past grace, the aged receivables equal the ledger, lifted.
    assert "authorise: allowed=False, reason tenant_overdue" in done.stdout
    assert "= ledger receivable 1,062.00" in done.stdout
    assert "restriction lifted, authorise allowed=True" in done.stdout
    # It ends with a dispute opened by the tenant and resolved by an admin.
    last = done.stdout.strip().splitlines()[-4:]
    assert "admin resolved it: credit TZS 173.46" in last[-3] and last[-1].endswith("intact")
    # Again, on the same database: it ran to its end and the bad CDR line was its own
    # tenant's (not "a duplicate" of the first run's); the documents numbered on.
    again = demo(env, tmp_path)
    assert "1 malformed, 0 duplicates" in again.stdout
    assert "rejected malformed:" in again.stdout and "line 4: expected" in again.stdout
    assert "all hold" in again.stdout and "TRA acknowledged" in again.stdout
    assert "INV-000001.pdf" not in again.stdout
