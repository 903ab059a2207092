"""Headless Chromium for tests of pages, driven by Playwright with Debian's browser.

Playwright cannot download its own browsers here, so it is pointed at the system
Chromium (``deploy/local/ensure-browser.sh`` installs it; ``PHAROS_CHROMIUM`` overrides
the path). Pages under test are served by a live server on loopback; the flags keep
Chromium from reaching out to Google's services, which this machine's network refuses.

Every test that shows a page saves a screenshot under ``var/screenshots/`` for people to
look at: ``save_screenshot(page, "status-page-phone")``.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PHAROS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1366, "height": 900}


def save_screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Write ``var/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# Module scope, not session: Playwright's sync API keeps its event loop current on the
# test thread while it runs, and a later test's asyncio.run() then fails with "cannot be
# called from a running event loop" (tests/ops/test_log_context.py did, after a browser test).
@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One headless Chromium per test module; each test opens its own context."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium (deploy/local/ensure-browser.sh)"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop on the test's thread, and Django refuses ORM
    # calls from a thread with a running loop; the tests' ORM calls are not in that loop.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_context(chromium):
    """A fresh context (cookies, viewport) per test; ``javascript_enabled`` etc. via
    ``chromium.new_context(...)`` directly when a test needs other options."""
    context = chromium.new_context(viewport=DESKTOP)
    try:
        yield context
    finally:
        context.close()
