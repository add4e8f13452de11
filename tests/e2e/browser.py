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


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
  .map(e => e.name)"""


def watch_console(page) -> list[str]:
    """Console errors of the page (a CSP refusal shows here), collected as they come."""
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def shoot(page, name: str, widths: tuple[int, ...] = WIDTHS) -> None:
    """The page at a phone's width and a desk's, full length, for a person to look at;
    every form control has its label."""
    assert page.evaluate(UNLABELLED) == [], f"{name}: form controls without a label"
    SCREENS.mkdir(parents=True, exist_ok=True)
    for width in widths:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
        # Nothing sideways on a phone: the page itself never scrolls horizontally.
        if width < 600:
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} is {overflow}px wide at {width}px"
    page.set_viewport_size({"width": 1280, "height": 800})
