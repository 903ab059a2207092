"""The page's ``layout`` in headless Chromium: "horizontal" puts sections side by side on a
wide screen and stacks them on a phone; "vertical" always stacks them. Also the badge image
as a browser draws it."""

import pytest

from status.badges import badge_of
from tests.browser import PHONE, save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 900}


def _section_boxes(chromium, url, viewport, screenshot):
    context = chromium.new_context(viewport=viewport, java_script_enabled=False)
    page = context.new_page()
    page.goto(url)
    boxes = [section.bounding_box() for section in page.locator("section.section").all()]
    inside = all(box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] for box in boxes)
    save_screenshot(page, screenshot)
    context.close()
    assert len(boxes) == 2 and inside
    return boxes


def _horizontal(built_page):
    page = built_page["page"]
    page.layout = "horizontal"
    page.save()  # committed (transactional test): the cached page refreshes


def test_a_horizontal_page_puts_its_sections_side_by_side_at_1280_px(chromium, live_server, built_page):
    _horizontal(built_page)

    first, second = _section_boxes(chromium, f"{live_server.url}/status/eleva/", WIDE, "status-layout-horizontal-1280")

    assert first["y"] == second["y"]
    assert first["x"] + first["width"] <= second["x"]


def test_a_horizontal_page_stacks_its_sections_on_a_375_px_phone(chromium, live_server, built_page):
    _horizontal(built_page)

    first, second = _section_boxes(chromium, f"{live_server.url}/status/eleva/", PHONE, "status-layout-horizontal-375")

    assert first["y"] + first["height"] <= second["y"]
    assert first["x"] == second["x"]


def test_a_vertical_page_stacks_its_sections_even_when_wide(chromium, live_server, built_page):
    first, second = _section_boxes(chromium, f"{live_server.url}/status/eleva/", WIDE, "status-layout-vertical-1280")

    assert first["y"] + first["height"] <= second["y"]


def test_the_svg_badge_draws_its_label_and_message_inside_its_width(chromium, live_server, built_page):
    token = badge_of(built_page["backup"]).token
    context = chromium.new_context(viewport={"width": 400, "height": 100})
    page = context.new_page()

    page.goto(f"{live_server.url}/badge/{token}.svg")

    texts = page.locator("text").all()
    assert [text.text_content() for text in texts] == ["Nightly backup", "Nightly backup", "up", "up"]
    # The label fits the grey half and the message the coloured half, in the fonts Chromium has.
    grey, colour = (page.locator("g rect").nth(n).bounding_box() for n in (0, 1))
    for text, half in zip(texts, (grey, grey, colour, colour), strict=True):
        box = text.bounding_box()
        assert half["x"] <= box["x"] and box["x"] + box["width"] <= half["x"] + half["width"]
    svg = page.locator("svg").bounding_box()
    page.set_viewport_size({"width": int(svg["width"]) + 2, "height": 22})
    save_screenshot(page, "status-badge", full_page=False)
    context.close()
