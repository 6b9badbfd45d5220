"""The public trip page in Chromium with JavaScript off: it reads, in the partner's branding,
at phone and desktop widths (screenshots for docs/trip-day.md)."""

from __future__ import annotations

from tests.browser.conftest import DEMO_LOGO, save_docs_screenshot


def test_public_trip_page_reads_without_javascript(browser, world, tmp_path):
    url = f"{world.widget}/t/demo/{world.ids['open']}"
    for width, name in ((360, "public-trip-360"), (1280, "public-trip-1280")):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, java_script_enabled=False
        )
        context.route(
            "https://demo-city-fc.example/**",
            lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=DEMO_LOGO),
        )
        page = context.new_page()
        try:
            page.goto(url)
            heading = page.get_by_role("heading", level=1)
            assert (
                heading.inner_text() == "Bus from Springfield to Demo City FC vs. Riverside United"
            )
            link = page.get_by_role("link", name="Pledge seats")
            assert link.get_attribute("href").endswith(
                f"/trips/{world.ids['open']}/pledge?locale=en"
            )
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width  # nothing wider than the phone
            save_docs_screenshot(page, name, tmp_path)
        finally:
            context.close()
