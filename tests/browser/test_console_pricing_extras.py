"""The console's add-on and sponsor pages in a real browser at 360 px, in English, Spanish and
French: axe finds nothing, nothing scrolls sideways, and the real click path works (an editor
adds an extra and a sponsor, with a logo file; the trip page then lists them)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.test_console import violations
from tests.browser.test_console_phone import OFF_SCREEN
from widget_server.domain.accounts.admins import create_admin
from widget_server.domain.pricing.add_ons import create_add_on
from widget_server.domain.sponsors import set_sponsor
from widget_server.extensions import db
from widget_server.models import AddOn, Event, Partner, Trip

ADMINS = {locale: f"pricing.extras.{locale}@demo-console.example" for locale in ("en", "es", "fr")}
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map(el => el.outerHTML.slice(0, 120)).slice(-3)"""
SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > window.innerWidth"
HEADINGS = {"en": "Extras", "es": "Extras", "fr": "Options"}


@pytest.fixture(scope="module")
def seeded(world):
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        for locale, email in ADMINS.items():
            admin = create_admin(session, partner, email=email, password=PASSWORD, actor="test")
            admin.locale = locale
        trip = session.get(Trip, world.ids["open"])
        values = {"name": "Team scarf", "unit_amount": 2500, "quantity": 40}
        create_add_on(session, trip, values, actor="test")
        set_sponsor(session, trip.event, {"name": "Acme Tires"}, actor="test")
    return world


def sign_in(world, page, email: str) -> None:
    page.goto(f"{world.widget}/admin/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/admin/login" not in url)


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_add_on_and_sponsor_pages_pass_axe_at_360_px(seeded, context, locale):
    world = seeded
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(world, page, ADMINS[locale])
    with world.app.app_context():
        add_on = db.session.scalar(select(AddOn).where(AddOn.trip_id == world.ids["open"]))
        add_on_id = add_on.id
    trip, event = world.ids["open"], world.ids["event"]
    pages = [
        f"/admin/trips/{trip}/add_ons",
        f"/admin/add_ons/{add_on_id}",
        f"/admin/trips/{trip}/sponsor",
        f"/admin/events/{event}/sponsor",
        f"/admin/trips/{trip}",
    ]
    problems, wide = {}, {}
    for path in pages:
        page.goto(world.widget + path)
        page.wait_for_selector("h1")
        assert page.evaluate("document.documentElement.lang") == locale
        found = violations(page)
        if found:
            problems[path] = found
        off = page.evaluate(OFF_SCREEN)
        if off or page.evaluate(SCROLLS_SIDEWAYS):
            wide[path] = off or page.evaluate(WIDEST)
    page.goto(world.widget + pages[0])
    assert page.locator("h1").inner_text() == HEADINGS[locale]
    assert problems == {}
    assert wide == {}


def test_an_editor_adds_an_extra_and_a_trip_sponsor_with_a_logo(seeded, context, tmp_path):
    world = seeded
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(world, page, ADMINS["en"])
    trip = world.ids["open"]
    page.goto(f"{world.widget}/admin/trips/{trip}")
    page.click("text=Manage the extras")
    page.fill("#f-name", "Tailgate pass")
    page.fill("#f-price", "15.50")
    page.fill("#f-quantity", "30")
    page.click("text=Add the extra")
    page.wait_for_selector("text=Tailgate pass")
    # A bad price is refused on the form, naming the field, in the browser too.
    page.fill("#f-name", "Broken")
    page.fill("#f-price", "abc")
    page.click("text=Add the extra")
    page.wait_for_selector("#f-price-error")
    assert violations(page) == []
    logo = tmp_path / "logo.png"
    out = io.BytesIO()
    Image.new("RGB", (300, 100), (200, 16, 46)).save(out, "PNG")
    logo.write_bytes(out.getvalue())
    page.goto(f"{world.widget}/admin/trips/{trip}")
    page.click("text=Set the trip's own")
    page.fill("#f-name", "Bolt Energy")
    page.fill("#f-url", "https://bolt.example/")
    page.set_input_files("#f-logo", str(logo))
    page.click("text=Save the sponsor")
    page.wait_for_selector("[data-sponsor]:has-text('Bolt Energy')")
    with world.app.app_context():
        saved = db.session.get(Trip, trip)
        assert saved.sponsor.name == "Bolt Energy" and saved.sponsor.format == "PNG"
        assert [a.name for a in saved.add_ons] == ["Team scarf", "Tailgate pass"]
        assert saved.add_ons[1].unit_amount == 1550
        assert db.session.get(Event, world.ids["event"]).sponsor.name == "Acme Tires"
    # The fan's widget shows the trip's sponsor and offers the extras.
    page.goto(f"{world.widget}/w/demo/trips/{trip}")
    page.wait_for_selector("[data-sponsor]:has-text('Bolt Energy')")
    assert page.locator(".rp-sponsor-logo").evaluate("img => img.naturalWidth") > 0
    page.goto(f"{world.widget}/w/demo/trips/{trip}/pledge")
    page.wait_for_selector("[data-add-ons]")
    assert page.locator("[data-add-on]").count() == 2
