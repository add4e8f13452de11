# ruff: noqa: F401, F811 (module-scoped fixtures imported by name)
"""The hosted payment page in a real browser (Debian's chromium, driven by Playwright):
the card path against the Stripe fake's Stripe.js, 3-D Secure included, and the
mobile-money path against the sandbox, each followed to the credited wallet. Screenshots
go to tests/artifacts/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from billing.topups.models import TopupStatus
from tests.e2e.cards_services import card_env, card_url, card_worker, fake, logs, service
from tests.e2e.test_cards_e2e import balance, card_topup, reaches

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/ensure-system-packages.sh)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 520, "height": 900})
    opened = context.new_page()
    opened.console_messages = []
    opened.on("console", lambda message: opened.console_messages.append(message.text))
    yield opened
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"pay-{name}.png"), full_page=True)


def fill_card(page, number: str) -> None:
    """The fake Stripe.js card element: number, month, two-digit year, CVC, postcode."""
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill("11")
    element.locator("input[placeholder=exp_year]").fill("31")
    element.locator("input[placeholder=cvc]").fill("737")
    element.locator("input[placeholder=postal_code]").fill("11101")


def no_csp_violation(page) -> None:
    assert not [m for m in page.console_messages if "Content Security Policy" in m]


def test_pay_by_card_on_the_hosted_page(service, fake, sessions, make_tenant, page):
    tenant = make_tenant()
    created = card_topup(service, tenant, 12_500_00)
    page.goto(created["pay_url"] + "?lang=en")
    assert page.locator("#tenant").inner_text() == "Duka la Simu"
    assert page.locator("#amount").inner_text() == "TZS 12,500.00"
    page.locator("#card-element input").first.wait_for()
    fill_card(page, "4242424242424242")
    shot(page, "card-en")
    page.locator("#card-pay").click()
    page.wait_for_url("**/result?lang=en")
    page.locator(".state-succeeded").wait_for(state="visible", timeout=30_000)
    shot(page, "card-paid-en")
    assert reaches(sessions, created["id"], TopupStatus.SUCCEEDED)
    assert balance(sessions, tenant.tenant_id) == 12_500_00
    no_csp_violation(page)


def test_3d_secure_in_the_browser_in_swahili(service, fake, sessions, make_tenant, page):
    tenant = make_tenant()
    created = card_topup(service, tenant)
    page.goto(created["pay_url"] + "?lang=sw")
    assert page.locator("h1").inner_text() == "Ongeza salio la pochi yako"
    page.locator("#card-element input").first.wait_for()
    fill_card(page, "4000002500003155")
    page.locator("#card-pay").click()
    page.get_by_text("Complete authentication").wait_for()
    shot(page, "card-3ds-sw")
    page.get_by_text("Complete authentication").click()
    page.wait_for_url("**/result?lang=sw")
    page.get_by_text("Imelipwa").wait_for(state="visible", timeout=30_000)
    shot(page, "card-paid-sw")
    assert reaches(sessions, created["id"], TopupStatus.SUCCEEDED)
    no_csp_violation(page)


def test_pay_by_mobile_money_on_the_same_page(service, fake, sessions, make_tenant, page):
    tenant = make_tenant()
    created = card_topup(service, tenant, 3_000_00)
    page.goto(created["pay_url"] + "?lang=en")
    page.locator("#msisdn").fill("0754 321 999")
    shot(page, "mobile-en")
    page.locator("#mobile-pay").click()
    page.wait_for_url("**/result?lang=en")
    page.get_by_text("Approve the payment on your phone").wait_for(state="visible")
    shot(page, "mobile-approve-en")
    page.locator(".state-succeeded").wait_for(state="visible", timeout=30_000)
    shot(page, "mobile-paid-en")
    assert eventually_balance(sessions, tenant.tenant_id, 3_000_00)
    assert page.locator("#amount").inner_text() == "TZS 3,000.00"
    no_csp_violation(page)


def eventually_balance(sessions, tenant_id: str, amount: int) -> bool:
    from tests.polling import eventually

    return bool(eventually(lambda: balance(sessions, tenant_id) == amount, timeout_s=30))


def test_a_forged_or_foreign_token_shows_nothing(service, make_tenant):
    assert requests.get(f"{service}/pay/not-a-token", timeout=10).status_code == 404
    tenant = make_tenant()
    created = requests.post(
        f"{service}/v1/topups",
        json={"amount": 1_000_00, "currency": "TZS", "provider": "card"},
        headers=tenant.headers,
        timeout=30,
    ).json()
    token = created["pay_url"].rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert requests.get(f"{service}/pay/{tampered}", timeout=10).status_code == 404
    page = requests.get(created["pay_url"], timeout=10)
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy.split("style-src")[0] and "<script>" not in page.text
