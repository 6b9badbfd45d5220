"""The bus marketplace's pages in a real browser: the console's Buses pages (requests, asking
for a bus, a request's quotes side by side with an award form) and the operator portal's
Requests to quote and My quotes, in English, Spanish and French at 360 px (and 1280 px): axe
finds nothing and nothing scrolls sideways. Then a real click path: an owner awards a quote
from the comparison page and lands on the new draft trip."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.test_console import violations
from tests.browser.test_console_phone import OFF_SCREEN
from tests.functional.marketplace_helpers import make_operator
from widget_server.domain.accounts.admins import create_admin, set_password
from widget_server.domain.operators import marketplace
from widget_server.domain.operators.operators import add_vehicle
from widget_server.extensions import db
from widget_server.models import AdminUser, Event, Partner, Trip
from widget_server.models.types import utcnow

OWNER = "buses.owner@demo-buses.example"


@pytest.fixture(scope="module")
def market(world):
    """The demo partner with an owner, three operators (one with lapsed insurance) and a
    request from Springfield with their quotes."""
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        create_admin(session, partner, email=OWNER, password=PASSWORD, actor="test")
        event = session.get(Event, world.ids["event"])
        operators = [
            make_operator(session, "prairie-express", regions=["IL"]),
            make_operator(session, "harbor-coaches-and-charters", regions=["IL", "WI"]),
            make_operator(
                session, "lapsed-lines", regions=["IL"], insurance_expires_on=date.today()
            ),
        ]
        trip_request = marketplace.request_bus(
            session,
            partner,
            event,
            origin={"name": "Springfield Community College, north parking lot", "region": "IL"},
            departs_at=event.starts_at - timedelta(hours=4),
            expected_riders=48,
            vehicle_kind="coach",
            actor="test",
        )
        for operator, seats, amount in zip(
            operators, (56, 50, 40), (265000, 219900, 150000), strict=True
        ):
            marketplace.submit_quote(
                session,
                operator,
                trip_request,
                seats=seats,
                amount=amount,
                currency="USD",
                valid_until=utcnow() + timedelta(days=5),
                vehicle_kind="coach",
                notes="Restroom, Wi-Fi, wheelchair lift; the driver waits after the game.",
                actor="test",
            )
        world.ids["request"] = trip_request.id
        # Harbor's owner signs in to the portal; a second request waits for its quote.
        harbor = operators[1]
        owner = session.scalar(select(AdminUser).where(AdminUser.operator_id == harbor.id))
        set_password(session, owner, PASSWORD, actor="test")
        world.ids["portal_owner"] = owner.email
        add_vehicle(
            session,
            harbor,
            {"name": "Coach 7 (wheelchair lift)", "kind": "coach", "seats": 50, "plate": "IL 7"},
            actor="test",
        )
        marketplace.request_bus(
            session,
            partner,
            event,
            origin={"name": "Riverside Park and Ride, east entrance", "region": "WI"},
            departs_at=event.starts_at - timedelta(hours=3),
            expected_riders=30,
            vehicle_kind="minibus",
            actor="test",
        )
    return world


def _sign_in(world, page):
    page.goto(f"{world.widget}/admin/login")
    page.fill("#email", OWNER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def test_the_buses_pages_pass_axe_on_a_phone_in_three_languages(market, context, tmp_path):
    world = market
    page = context.new_page()
    page.set_default_timeout(15_000)
    _sign_in(world, page)
    pages = {
        "requests": "/admin/buses",
        "ask": "/admin/buses/new",
        "quotes": f"/admin/buses/{world.ids['request']}",
    }
    problems = _walk(world, page, pages, tmp_path)
    assert problems == {}, problems


def _walk(world, page, pages: dict, folder) -> dict:
    """Each page in en/es/fr at 360 and 1280 px: what scrolls sideways, what is off screen,
    what axe finds (empty when all is well); a screenshot of each."""
    problems = {}
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        for locale in ("en", "es", "fr"):
            for name, path in pages.items():
                page.goto(f"{world.widget}{path}?locale={locale}")
                page.wait_for_selector("h1")
                label = f"{name} {locale} @{width}"
                assert page.get_attribute("html", "lang") == locale
                found = violations(page)
                if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
                    found.append("scrolls sideways")
                found += [f"off screen: {html}" for html in page.evaluate(OFF_SCREEN)]
                if found:
                    problems[label] = found
                page.screenshot(path=str(folder / f"{label.replace(' ', '-')}.png"))
    return problems


def test_the_portal_quoting_pages_pass_axe_on_a_phone_in_three_languages(market, context, tmp_path):
    world = market
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{world.widget}/operator/login")
    page.fill("#email", world.ids["portal_owner"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/operator/")
    pages = {
        "requests": "/operator/requests",
        "quotes": "/operator/quotes",
        "webhooks": "/operator/webhooks",
    }
    problems = _walk(world, page, pages, tmp_path)
    assert problems == {}, problems


def test_an_owner_awards_a_quote_from_the_comparison(market, context):
    world = market
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 800})
    _sign_in(world, page)
    page.goto(f"{world.widget}/admin/buses/{world.ids['request']}")
    # Two compliant quotes can be awarded; the lapsed operator's cannot.
    assert page.locator("form.award").count() == 2
    row = page.locator("tr", has_text="Harbor-Coaches")
    row.locator("input[name=price]").fill("49.00")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("text=Quote awarded")
    with world.app.app_context():
        trip = db.session.scalar(select(Trip).where(Trip.quote_id.is_not(None)))
        assert (trip.capacity, trip.min_riders, trip.unit_amount) == (50, 45, 4900)
    assert f"/admin/trips/{trip.id}" in page.url
