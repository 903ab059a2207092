"""The browser the page tests use is the system Chromium, and it renders our pages."""

import pytest

from tests.browser import PHONE, save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_admin_login_page_renders_in_headless_chromium(browser_context, live_server):
    page = browser_context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    assert page.locator("input[name=username]").is_visible()
    assert "Pharos" in page.title()
    page.set_viewport_size(PHONE)
    assert save_screenshot(page, "admin-login-phone").stat().st_size > 0
