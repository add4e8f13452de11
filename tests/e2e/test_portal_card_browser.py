"""The portal's card page in chromium against the Stripe fake: a card saved through the
payment page's script (a SetupIntent), shown as Stripe reports it, an auto-recharge rule
refused then saved, the card removed. Screenshots at 390 and 1280 px."""

from __future__ import annotations

import shutil

import pytest

from billing import create_app
from billing.core.config import Settings
from billing.runtime import EXTENSION
from tests.e2e.browser import ARGS, CHROMIUM, SCREENS, shoot, watch_console
from tests.e2e.conftest import free_port
from tests.e2e.test_pages_browser import _link, _tenant
from tests.e2e.test_pay_page_browser_e2e import fill_card
from tests.serving import serve_on_own_port
from tests.stripe_fake import VISA, StripeFake

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed"),
]
playwright = pytest.importorskip("playwright.sync_api")
PHONE = (390, 1280)


@pytest.fixture(scope="module")
def card_site(database_url, tmp_path_factory):
    fake = StripeFake(free_port(), tmp_path_factory.mktemp("stripe") / "stripe.log")

    def make(url: str):
        return create_app(Settings(
            database_url=database_url, public_url=url, secret_key="card-browser", testing=True,
            provider_settings={"card": fake.settings()},
        ))  # fmt: skip

    server, url, app = serve_on_own_port(make)
    yield url, app.extensions[EXTENSION]
    server.shutdown()
    fake.stop()


def test_save_a_card_set_auto_recharge_and_remove_it(card_site) -> None:
    url, runtime = card_site
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = chromium.new_page()
        console = watch_console(page)
        page.goto(_link(runtime, url, _tenant(runtime)))
        page.get_by_role("link", name="Card", exact=True).click()
        assert page.get_by_text("No card is saved.").is_visible()
        page.get_by_role("button", name="Save a card").click()
        page.locator("#card-element input").first.wait_for()
        fill_card(page, VISA)
        for width in PHONE:  # the fake's card inputs have no labels (Stripe's own do)
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=str(SCREENS / f"portal-card-setup-{width}.png"), full_page=True)
        page.get_by_role("button", name="Save the card").click()
        page.wait_for_url("**/portal/card?saved=1")
        assert "4242" in page.get_by_test_id("saved-card").inner_text()
        assert VISA not in page.content()

        page.get_by_label("When the balance falls below").fill("ten thousand")
        page.get_by_label("Top up by").fill("50000")
        page.get_by_label("Top up automatically", exact=True).check()
        page.get_by_role("button", name="Save", exact=True).click()
        assert page.locator("#e-threshold").is_visible()
        shoot(page, "portal-card", PHONE)
        page.get_by_label("When the balance falls below").fill("10000")
        page.get_by_role("button", name="Save", exact=True).click()
        assert page.get_by_role("status").inner_text() == "Saved."

        page.get_by_role("button", name="Remove the card").click()
        assert page.get_by_text("The card was removed.").is_visible()
        assert page.get_by_text("No card is saved.").is_visible()
        assert [text for text in console if "Content Security Policy" in text] == []
        chromium.close()
