"""A fan's whole journey inside the embedded widget, in real Chromium at 360 and 1280 px: the
city search, a trip, a pledge and its withdrawal (asked first), a waitlist left (asked first).
Every page keeps its embedding context: the frame keeps fitting its content and the host page
hears every event. Also the partner logo's fallback, the same on the widget and public pages.

Screenshots go to RIDEPLEDGE_REVIEW_SHOTS (a folder outside the repository) when it is set."""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from tests.browser.helpers import (
    heard,
    inner_overflow,
    open_host,
    settled_height,
    wait_heard,
    wait_page,
    widget_frame,
)
from widget_server.extensions import db
from widget_server.models import Pledge, WaitlistEntry


def declarative(world, event_key: str = "event") -> str:
    event = world.ids[event_key]
    return (
        f'<div id="rides" data-ridepledge data-partner="demo" data-event="{event}">'
        f'<a href="{world.widget}/w/demo/events/{event}">Book a seat on the bus</a></div>'
    )


def review_shot(page, name: str) -> None:
    folder = os.environ.get("RIDEPLEDGE_REVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        # The whole page in the viewport: a full-page shot of a taller page leaves the part of
        # a cross-origin frame outside the viewport blank.
        size = page.viewport_size
        tall = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": max(tall, size["height"])})
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))
        page.set_viewport_size(size)


def fits(page, frame, where: str) -> None:
    """The iframe is exactly as tall as its page: nothing cut off, no blank area below."""
    for _ in range(20):  # a page still laying out (web font, share buttons) sends a new size
        height = settled_height(page)
        content = frame.evaluate(
            "Math.ceil(document.documentElement.getBoundingClientRect().height)"
        )
        if abs(height - content) <= 1:
            break
        page.wait_for_timeout(150)
    assert abs(height - content) <= 1, (where, height, content)
    assert inner_overflow(frame) == {"vertical": 0, "horizontal": 0}, where


def in_view_of_the_frame(page, frame, selector: str) -> bool:
    """The element is inside the iframe's box (so the host page's scrollbar reaches it)."""
    box = frame.locator(selector).bounding_box()  # page coordinates
    iframe = page.locator("#rides iframe").bounding_box()
    return box is not None and box["y"] + box["height"] <= iframe["y"] + iframe["height"] + 1


@pytest.mark.parametrize("width", [1280, 360])
def test_city_search_then_trip_then_pledge_keeps_the_frame_sized_and_the_host_told(
    world, page, width
):
    page.set_viewport_size({"width": width, "height": 800})
    open_host(world, page, declarative(world))
    wait_heard(page, "ready")
    frame = widget_frame(page, world)
    wait_page(frame, "#near")

    frame.fill("#near", "Springfield")
    frame.click("form.rp-near button[type=submit]")
    frame.wait_for_url("**near=Springfield**")
    wait_page(frame, "[data-trip-card]")
    assert parse_qs(urlsplit(frame.url).query)["host"] == [world.site.origin]
    assert frame.locator("[data-trip-card] h3").first.inner_text().startswith("From Springfield")
    fits(page, frame, "search results")
    review_shot(page, f"search-{width}")

    frame.click(f"[data-trip-card='{world.ids['open']}'] h3 a")
    viewed = wait_heard(page, "trip.viewed")
    assert viewed[-1]["detail"] == {"trip_id": world.ids["open"], "event_id": world.ids["event"]}
    wait_page(frame, "a.rp-button-link")
    fits(page, frame, "trip")
    assert in_view_of_the_frame(page, frame, "a.rp-button-link")  # "Pledge seats" reachable
    review_shot(page, f"trip-{width}")

    frame.click("a.rp-button-link")
    wait_page(frame, "form[data-pledge-form]")
    fits(page, frame, "pledge form")
    assert in_view_of_the_frame(page, frame, "button[data-submit]")
    email = f"search-{width}@example.com"
    frame.fill("#name", "Sky Search")
    frame.fill("#email", email)
    frame.fill("#card_number", "4242 4242 4242 4242")
    frame.click("button[data-submit]")
    created = wait_heard(page, "pledge.created")[-1]["detail"]
    assert created["trip_id"] == world.ids["open"] and created["status"] == "pledged"
    wait_page(frame, "text=Pledge received. Thank you, Sky Search!")
    fits(page, frame, "confirmation")
    review_shot(page, f"confirmation-{width}")

    # Withdrawing asks first; "no" keeps the pledge, "yes" withdraws it and tells the host page.
    frame.click('a[href*="/manage/"]')
    wait_page(frame, "a[data-withdraw-start]")
    frame.click("a[data-withdraw-start]")
    wait_page(frame, "text=Withdraw this pledge?")
    fits(page, frame, "withdraw question")
    review_shot(page, f"withdraw-question-{width}")
    frame.click("a[data-confirm-no]")
    wait_page(frame, "a[data-withdraw-start]")
    with world.app.app_context():
        pledge = db.session.scalar(select(Pledge).where(Pledge.email == email))
        assert pledge.status == "pledged"
    frame.click("a[data-withdraw-start]")
    wait_page(frame, "button[data-confirm-yes]")
    frame.click("button[data-confirm-yes]")
    canceled = wait_heard(page, "pledge.canceled")[-1]["detail"]
    assert canceled == {**created, "status": "canceled"}
    wait_page(frame, "text=Your pledge was withdrawn. Nothing was charged.")
    assert frame.locator("h1").inner_text() == "This pledge is withdrawn"
    fits(page, frame, "withdrawn")

    # Still tied to the host page after all that: a trip request is heard too.
    frame.click("text=See all buses to this game")
    wait_page(frame, "a[href*='/request']")
    frame.click("a[href*='/request']")
    wait_page(frame, "form[data-request-form]")
    frame.fill("#origin", f"Peoria {width}")
    frame.fill("#email", email)
    frame.click("button[data-submit]")
    requested = wait_heard(page, "demand.requested")[-1]["detail"]
    assert requested["event_id"] == world.ids["event"] and requested["origin"] == f"Peoria {width}"
    fits(page, frame, "request done")
    assert [e["name"] for e in heard(page) if e["name"] == "error"] == []


def test_a_full_bus_says_so_and_a_fan_can_leave_its_waitlist(world, page):
    page.set_viewport_size({"width": 360, "height": 800})
    open_host(world, page, declarative(world))
    wait_heard(page, "ready")
    frame = widget_frame(page, world)
    frame.click(f"[data-trip-card='{world.ids['sold_out']}'] h3 a")
    wait_heard(page, "trip.viewed")
    wait_page(frame, "form[data-waitlist-form]")
    card = frame.locator("[data-progress-text]").inner_text()
    assert card == "2 of 2 seats pledged"  # running: no "confirms at 2"
    assert frame.locator("#stop-request-title").inner_text() == (
        "Have seats? Ask for a stop nearer you"
    )
    fits(page, frame, "sold-out trip")
    review_shot(page, "sold-out-360")

    form = "form[data-waitlist-form]"
    frame.fill(f"{form} #name", "Lina Line")
    frame.fill(f"{form} #email", "lina@example.com")
    frame.click(f"{form} button[data-submit]")
    wait_page(frame, "a[data-leave-start]")
    assert frame.locator("text=1 seat, pick-up at").count() == 1
    fits(page, frame, "waitlist page")
    frame.click("a[data-leave-start]")
    wait_page(frame, "text=Leave the waitlist?")
    fits(page, frame, "leave question")
    review_shot(page, "leave-question-360")
    frame.click("button[data-confirm-yes]")
    wait_page(frame, "text=You left the waitlist. Nothing was charged.")
    fits(page, frame, "left")
    with world.app.app_context():
        entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.name == "Lina Line"))
        assert entry.status == "closed"


def _logo_pixel(page_or_frame) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The colour drawn near the logo's left edge, and the page's primary colour."""
    logo = page_or_frame.locator("img.rp-logo")
    shot = Image.open(io.BytesIO(logo.screenshot())).convert("RGB")
    primary = page_or_frame.evaluate(
        """() => { const probe = document.createElement('i');
            probe.style.color = 'var(--rp-primary)'; document.body.appendChild(probe);
            const rgb = getComputedStyle(probe).color.match(/\\d+/g).map(Number);
            probe.remove(); return rgb; }"""
    )
    return shot.getpixel((4, shot.height // 2)), tuple(primary)


def test_a_logo_that_cannot_load_shows_the_partners_initial_on_widget_and_public_pages(
    world, context
):
    context.route(
        "https://demo-city-fc.example/**", lambda route: route.fulfill(status=404, body="")
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    for url in (
        f"{world.widget}/w/demo/trips/{world.ids['open']}",
        f"{world.widget}/t/demo/{world.ids['open']}",
    ):
        page.goto(url)
        page.wait_for_load_state("load")
        logo = page.locator("img.rp-logo")
        assert logo.is_visible(), url
        assert logo.evaluate("(img) => img.complete && img.naturalWidth === 0"), url  # broken
        assert logo.evaluate("(img) => getComputedStyle(img, '::after').content") == '"D"'
        drawn, primary = _logo_pixel(page)
        assert max(abs(a - b) for a, b in zip(drawn, primary, strict=True)) <= 8, (url, drawn)
        review_shot(page, "logo-fallback-" + ("public" if "/t/" in url else "widget"))
