"""Playwright for Python driving Debian's chromium (never a downloaded browser build)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
WIDTHS = (360, 1280)


def shoot(page, name: str) -> None:
    """The page at a phone's width and a desk's, full length, for a person to look at."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
        # Nothing sideways at 360 px: the page itself never scrolls horizontally.
        if width == 360:
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 360, f"{name} is {overflow}px wide at 360px"
    page.set_viewport_size({"width": 1280, "height": 800})
