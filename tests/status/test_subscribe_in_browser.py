"""Signing up on the public page in headless Chromium, on a phone, without JavaScript."""

import pytest
from django.core import mail

from status.models import Subscriber
from tests.browser import PHONE, save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_customer_signs_up_with_the_form_and_confirms_with_the_mailed_link(chromium, live_server, built_page):
    built_page["page"].subscribable = True
    built_page["page"].save()
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/status/eleva/")
    form = page.locator("#subscribe-form")
    box = form.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    save_screenshot(page, "status-page-subscribe-form-phone")

    page.fill("#subscribe-email", "ana@example.com")
    form.get_by_role("button", name="Subscribe").click()

    assert page.get_by_text("Check your inbox").is_visible()
    [message] = mail.outbox
    link = next(word for word in message.body.split() if "/confirm/" in word)
    page.goto(live_server.url + link[link.index("/status/") :])
    page.get_by_role("button", name="Confirm subscription").click()
    assert page.get_by_text("Subscribed").first.is_visible()
    save_screenshot(page, "status-page-subscribed-phone")
    assert Subscriber.objects.get().confirmed_at is not None
    context.close()
