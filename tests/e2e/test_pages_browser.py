"""The portal and the back office in a real browser (chromium, headless): a portal link
opened, a mobile-money top-up approved in the sandbox and seen to succeed, its receipt's
PDF downloaded, Swahili, another tenant's id refused, CSRF refused; a staff sign-in with
TOTP, finance resolving a review item and finalising an invoice. Screenshots of each main
page at 360 and 1280 px go to tests/artifacts/screens/."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from billing import create_app
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.backoffice.credentials import enrol
from billing.core.config import Settings
from billing.core.money import Currency
from billing.disputes.service import add_comment
from billing.invoicing import service as invoicing
from billing.portal.links import create_link
from billing.runtime import EXTENSION
from billing.tariffs.seed import put_on_default_plan
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.topups.models import ReviewItem
from billing.usage.models import UsageRecord, UsageStatus
from tests.e2e.browser import ARGS, CHROMIUM, shoot, watch_console
from tests.e2e.browser_api import api_topup
from tests.polling import eventually
from tests.serving import serve_on_own_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed"),
]
playwright = pytest.importorskip("playwright.sync_api")
PHONE = (390, 1280)  # the disputes pages: a phone's width and a desk's


@pytest.fixture(scope="module")
def site(database_url):
    def make(url: str):
        return create_app(Settings(
            database_url=database_url, public_url=url, secret_key="browser", testing=True,
            sandbox_delay_s=0.3,
        ))  # fmt: skip

    server, url, app = serve_on_own_port(make)
    yield url, app.extensions[EXTENSION]
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _tenant(runtime, mode=BillingMode.PREPAID, name="Duka la Simu Ltd") -> str:
    with runtime.unit_of_work() as session:
        made = create_tenant(session, NewTenant(
            name=name, email="billing@duka.co.tz", msisdn="255754000111", billing_mode=mode,
            currency=Currency.TZS, tin="123456789", vrn="40012345K", city="Dar es Salaam",
        ))  # fmt: skip
        put_on_default_plan(session, made.id)
    return made.id


def _link(runtime, url: str, tenant_id: str) -> str:
    with runtime.unit_of_work() as session:
        _row, token = create_link(session, actor="platform", tenant_id=tenant_id,
                                  user_email="owner@duka.co.tz", role=Role.TENANT_ADMIN,
                                  return_url="https://platform.example/account")  # fmt: skip
    return f"{url}/portal/start/{token}"


def _usage(runtime, tenant_id: str, status: UsageStatus, when: datetime) -> None:
    with runtime.unit_of_work() as session:
        for n, (service, zone, unit, units, net) in enumerate((
            ("voice", "Vodacom", "second", 600, 30000), ("sms", "Airtel", "segment", 40, 8000),
            ("whatsapp", "marketing", "message", 10, 12000),
            ("voice", "Tigo", "second", 300, 18000),
        )):  # fmt: skip
            at = when + timedelta(days=n % 3, minutes=n)
            session.add(UsageRecord(
                source_system="browser-test", source_id=uuid.uuid4().hex, tenant_id=tenant_id,
                service=service, to_number=f"25575400{n:04d}", occurred_at=at, started_at=at,
                status=status, zone=zone, unit=unit, billed_units=units, currency="TZS",
                net_minor=net, vat_minor=net * 18 // 100 if status is UsageStatus.BILLED else None,
                breakdown={"rate": "0.50 TZS/s", "increment": "60/1"},
            ))  # fmt: skip


def test_tenant_portal(site, browser) -> None:
    url, runtime = site
    tenant_id = _tenant(runtime)
    now = datetime.now(UTC)
    _usage(runtime, tenant_id, UsageStatus.BILLED, now.replace(day=1, hour=9))
    page = browser.new_page()
    console = watch_console(page)
    page.goto(_link(runtime, url, tenant_id))
    assert page.url.endswith("/portal/")
    assert page.get_by_role("heading", name="Overview").is_visible()
    shoot(page, "portal-overview")
    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"

    # Top up by mobile money; the sandbox payer approves; the page sees it succeed.
    page.get_by_role("link", name="Top up", exact=True).first.click()
    page.get_by_label("Amount").fill("10000")
    page.get_by_label("Mobile money number").fill("255754000111")
    page.wait_for_timeout(700)  # htmx swaps the operator suggested for the number
    assert page.get_by_label("Operator").input_value() == "mpesa"
    shoot(page, "portal-topup")
    page.get_by_role("button", name="Send the payment request").click()
    status = page.locator("#topup-status")
    shoot(page, "portal-topup-pending")
    playwright.expect(status).to_have_attribute("data-status", "succeeded", timeout=30_000)
    assert "Payment received" in status.inner_text()
    topup_url = page.url

    # The top-up's fiscal receipt, as a PDF download.
    page.goto(f"{url}/portal/invoices")
    link = page.get_by_role("link", name="Download")
    eventually(lambda: (page.reload(), link.count() > 0)[1], timeout_s=30)
    shoot(page, "portal-invoices")
    with page.expect_download() as download:
        link.first.click()
    pdf = download.value.path()
    assert pdf.read_bytes()[:5] == b"%PDF-"

    for name, path in (("portal-statement", "statement"), ("portal-usage", "usage"),
                       ("portal-api-keys", "api-keys"), ("portal-profile", "profile")):  # fmt: skip
        page.goto(f"{url}/portal/{path}")
        shoot(page, name)
    page.goto(f"{url}/portal/usage")
    page.locator("table a").first.click()
    assert page.get_by_role("heading", name="Rating breakdown").is_visible()
    shoot(page, "portal-usage-record")

    # Swahili: every word on the page, amounts and dates for sw-TZ.
    page.goto(f"{url}/portal/")
    page.get_by_role("button", name="Kiswahili").click()
    assert page.locator("html").get_attribute("lang") == "sw"
    assert page.get_by_role("heading", name="Muhtasari").is_visible()
    assert "TSh" in page.get_by_test_id("balance").inner_text()
    shoot(page, "portal-overview-sw")

    assert [text for text in console if "Content Security Policy" in text] == []

    # Another tenant's top-up from this session: 404, as the API answers.
    other = browser.new_page()
    other.goto(_link(runtime, url, _tenant(runtime, name="Another Ltd")))
    refused = other.goto(topup_url)
    assert refused.status == 404
    assert "Payment received" not in other.content()

    # CSRF: a form posted without this session's token is refused.
    forged = other.request.post(
        f"{url}/portal/topup", form={"amount": "5000", "msisdn": "255754000111"}
    )
    assert forged.status == 400


def test_dispute_opened_from_a_usage_row(site, browser) -> None:
    url, runtime = site
    tenant_id = _tenant(runtime)
    _usage(runtime, tenant_id, UsageStatus.BILLED, datetime.now(UTC).replace(day=1, hour=9))
    page = browser.new_page()
    console = watch_console(page)
    page.goto(_link(runtime, url, tenant_id))
    page.get_by_role("link", name="Usage", exact=True).click()
    page.locator("table a.row-action").first.click()
    assert page.get_by_role("heading", name="Dispute a charge").is_visible()
    page.get_by_role("button", name="Open the dispute").click()  # nothing said: refused
    assert page.locator("#e-reason").is_visible()
    shoot(page, "portal-dispute-form", PHONE)
    page.get_by_label("What is wrong?").fill("This call to Vodacom was never made.")
    page.get_by_label("Amount you dispute").fill("354")
    page.get_by_role("button", name="Open the dispute").click()
    dispute_id = page.url.rsplit("/", 1)[1]
    assert "open" in page.get_by_test_id("dispute-status").inner_text()
    with runtime.unit_of_work() as session:  # the billing team: a note to itself, an answer
        for body, visibility in (
            ("Internal: CDR replay suspected", "internal"),
            ("We are checking the switch logs for this call.", "tenant"),
        ):
            add_comment(session, dispute_id, author="usr_browser", role="admin", is_staff=True,
                        tenant_id=None, body=body, visibility=visibility)  # fmt: skip
    page.reload()
    assert "switch logs" in page.content() and "CDR replay" not in page.content()
    page.get_by_label("Your reply").fill("Thank you: the number is not one of ours.")
    page.get_by_role("button", name="Send reply").click()
    assert page.get_by_text("the number is not one of ours").is_visible()
    shoot(page, "portal-dispute", PHONE)
    page.get_by_role("link", name="Disputes", exact=True).click()
    assert page.locator(f'tr[data-dispute="{dispute_id}"]').is_visible()
    shoot(page, "portal-disputes", PHONE)
    page.get_by_role("button", name="Kiswahili").click()
    assert page.get_by_role("heading", name="Malalamiko").is_visible()
    shoot(page, "portal-disputes-sw", PHONE)
    page.goto(f"{url}/portal/disputes/{dispute_id}")
    shoot(page, "portal-dispute-sw", PHONE)
    assert [text for text in console if "Content Security Policy" in text] == []


def test_back_office(site, browser) -> None:
    url, runtime = site
    with runtime.unit_of_work() as session:
        user, _key = create_staff(
            session, email=f"fin-{os.urandom(4).hex()}@malipo.test", role=Role.FINANCE
        )
        enrolment = enrol(session, user, "a long finance password")
    postpaid = _tenant(runtime, BillingMode.POSTPAID, "Postpaid Traders Ltd")
    _usage(runtime, postpaid, UsageStatus.ACCRUED, datetime(2026, 10, 3, 9, tzinfo=UTC))
    with runtime.unit_of_work() as session:
        draft, _made = invoicing.create_postpaid_draft(
            session, "test", postpaid, date(2026, 10, 1), date(2026, 11, 1)
        )
    # A real review item: the sandbox's payer ending 0005 is paid a different amount (Tigo
    # Pesa's callback carries the amount; M-Pesa's does not).
    topup_id = api_topup(runtime, url, _tenant(runtime), "255714000005", "tigopesa")
    item_id = eventually(lambda: _review_item(runtime, topup_id), timeout_s=30)
    assert item_id, "the sandbox's mismatching callback opened no review item"

    page = browser.new_page()
    console = watch_console(page)
    page.goto(f"{url}/office/")
    assert "/office/sign-in" in page.url
    shoot(page, "office-sign-in")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill("a long finance password")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Six-digit code, or a recovery code").fill(
        pyotp.TOTP(enrolment.totp_secret).now()
    )
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/office/")
    shoot(page, "office-home")

    page.get_by_role("link", name="Review queue").first.click()
    shoot(page, "office-reviews")
    page.goto(f"{url}/office/reviews/{item_id}")
    assert page.get_by_role("heading", name="Evidence").is_visible()
    page.get_by_label("What was done").fill(
        "Payer called: paid the smaller amount; credited as paid."
    )
    shoot(page, "office-review-item")
    page.get_by_role("button", name="Resolve").click()
    assert "resolved" in page.locator("dl.facts").first.inner_text()

    page.goto(f"{url}/office/invoices/{draft.id}")
    shoot(page, "office-invoice-draft")
    page.get_by_role("button", name="Finalise invoice").click()
    status = page.get_by_test_id("invoice-status")
    assert "draft" not in status.inner_text()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.split()[-1].startswith(("INV", "TI", "P")) or "draft" not in heading
    shoot(page, "office-invoice-final")
    for name, path in (("office-invoices", "invoices"), ("office-invoice-runs", "invoice-runs"),
                       ("office-zreports", "zreports")):  # fmt: skip
        page.goto(f"{url}/office/{path}")
        shoot(page, name)
    assert [text for text in console if "Content Security Policy" in text] == []


def _review_item(runtime, topup_id: str) -> str | None:
    with runtime.sessions() as session:
        return session.execute(
            select(ReviewItem.id).where(ReviewItem.topup_id == topup_id)
        ).scalar()
