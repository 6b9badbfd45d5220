"""The waitlist form of a sold-out trip in Chromium: widget.js sends it as JSON to the widget
API (`POST /w/{partner}/api/trips/{id}/waitlist`) and shows what to fix inline, without
leaving the page; with JavaScript off the same form posts as a page and still works."""

from __future__ import annotations

from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import WaitlistEntry


def _entries(world, email: str) -> list[WaitlistEntry]:
    with world.app.app_context():
        return list(db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.email == email)))


def test_the_waitlist_form_goes_through_the_json_api_with_inline_errors(world, page):
    url = f"{world.widget}/w/demo/trips/{world.ids['sold_out']}"
    page.goto(url)
    form = page.locator("form[data-waitlist-form]")
    form.locator("#name").fill("Wanda Waits")
    form.locator("#email").fill("not an email")
    form.locator("#seats").fill("2")
    form.locator("button[data-submit]").click()
    error = form.locator('[data-error-for="email"]')
    error.wait_for(state="visible")
    assert "valid email" in error.inner_text()
    assert form.locator("#email").get_attribute("aria-invalid") == "true"
    assert page.url == url and _entries(world, "wanda@example.com") == []

    form.locator("#email").fill("wanda@example.com")
    with page.expect_request(
        lambda r: (
            r.method == "POST" and r.url.endswith(f"/api/trips/{world.ids['sold_out']}/waitlist")
        )
    ) as sent:
        form.locator("button[data-submit]").click()
    assert sent.value.headers["content-type"] == "application/json"
    assert sent.value.post_data_json["seats"] == 2
    page.wait_for_url("**/w/demo/waitlist/**")
    (entry,) = _entries(world, "wanda@example.com")
    assert (entry.seats, entry.status, entry.name) == (2, "waiting", "Wanda Waits")

    # The server's answer, in words, on the same form: this email already waits.
    page.goto(url)
    form = page.locator("form[data-waitlist-form]")
    form.locator("#name").fill("Wanda Again")
    form.locator("#email").fill("WANDA@example.com")
    form.locator("button[data-submit]").click()
    problem = form.locator("[data-form-problem]")
    problem.wait_for(state="visible")
    assert problem.inner_text() == "This email is already on the waitlist for this trip."
    assert page.url == url and len(_entries(world, "wanda@example.com")) == 1


def test_without_javascript_the_waitlist_form_still_posts(world, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{world.widget}/w/demo/trips/{world.ids['sold_out']}")
        form = page.locator("form[data-waitlist-form]")
        form.locator("#name").fill("Nat Nojs")
        form.locator("#email").fill("nat@example.com")
        form.locator("button[data-submit]").click()
        page.wait_for_url("**/w/demo/waitlist/**")
    finally:
        context.close()
    assert [e.status for e in _entries(world, "nat@example.com")] == ["waiting"]
