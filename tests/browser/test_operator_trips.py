"""The trip day in real Chromium: the driver's "ready to leave this stop" (the riders not
boarded, one message, leaving offline and online, the trip departing), and the operator
portal's trips pages, axe-clean at 360 px in English, Spanish and French."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.conftest import save_docs_screenshot
from tests.browser.test_accessibility import violations
from tests.conftest import LiveServer, empty_all_tables, make_settings
from tests.functional.operator_trip_helpers import operator_world
from tests.waiting import wait_for
from widget_server import create_app
from widget_server.domain import checkin
from widget_server.domain.accounts.admins import create_admin, find_admin, set_password
from widget_server.extensions import db
from widget_server.models import Operator, OutboundEmail, Trip

SECRET = "test-secret-key"
DISPATCHER = "dispatcher@coach-co.example"


# Named `world` so that tests/conftest.py's per-test database cleaning leaves it in place.
@pytest.fixture(scope="module")
def world(browser, database_url, migrated_engine, tmp_path_factory):
    settings = make_settings(database_url, tmp_path_factory.mktemp("operator-instance"))
    app = create_app(settings, TESTING=True)
    server = LiveServer(app)
    settings.public_base_url = server.url
    ids = operator_world(app)
    with app.app_context(), db.transaction() as session:
        operator = session.get(Operator, ids["operator"])
        create_admin(session, operator, email=DISPATCHER, role="dispatcher", actor="test")
        set_password(session, find_admin(session, DISPATCHER), PASSWORD, actor="test")
    with app.app_context(), db.transaction() as session:
        link = checkin.new_driver_link(session, session.get(Trip, ids["confirmed"]), actor="t")
        ids["driver_url"] = f"{server.url}/d/{checkin.driver_token(SECRET, link)}"
    ids["base"] = server.url
    server.start()
    yield app, ids
    server.stop()
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


def departed(app, trip_id: str) -> bool:
    with app.app_context():
        return db.session.get(Trip, trip_id).departed_at is not None


def test_ready_to_leave_a_stop_message_then_leave_offline(browser, world, tmp_path):
    app, ids = world
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.goto(ids["driver_url"])
        page.wait_for_selector("html[data-driver-ready]")
        first = page.locator("[data-leave]").first
        first.get_by_role("button", name="Ready to leave this stop: Stop 1").click()
        expect(first).to_contain_text("2 riders not boarded yet")
        message = first.get_by_label("Message to the riders not boarded yet")
        expect(message).to_have_value("The bus leaves in 5 minutes from Stop 1.")
        assert not violations(Axe(), page)
        save_docs_screenshot(page.locator(".dr-stop").first, "driver-ready-to-leave-360", tmp_path)
        first.get_by_role("button", name="Send the message").click()
        expect(page.locator("[data-result]")).to_contain_text("to 2 riders")
        expect(first).to_contain_text("Message sent at")
        with app.app_context():
            sent = db.session.scalars(
                select(OutboundEmail.to_address).where(OutboundEmail.kind == "bus_leaving")
            ).all()
        assert sorted(sent) == ["ana@example.com", "cy@example.com"]

        # Offline: leaving is kept on the phone and sent once back online.
        context.set_offline(True)
        first.get_by_role("button", name="Leave this stop: Stop 1", exact=True).click()
        expect(first).to_contain_text("saved offline")
        assert not departed(app, ids["confirmed"])
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        expect(first).not_to_contain_text("saved offline")
        expect(first).to_contain_text("Left at")

        last = page.locator("[data-leave]").last
        last.get_by_role("button", name="Ready to leave this stop: Stop 2").click()
        last.get_by_role("button", name="Leave this stop: Stop 2", exact=True).click()
        expect(last).to_contain_text("Left at")
        wait_for(lambda: departed(app, ids["confirmed"]), what="the trip's departure")
        page.reload()
        page.wait_for_selector("html[data-driver-ready]")
        assert page.locator("[data-leave]").all_inner_texts()[0].startswith("Left at")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_portal_trips_pages_pass_axe_at_360(browser, world, locale, tmp_path):
    app, ids = world
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{ids['base']}/operator/login")
        page.fill("input[name=email]", DISPATCHER)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url("**/operator/**")
        for path in ("/operator/trips", f"/operator/trips/{ids['confirmed']}"):
            page.goto(f"{ids['base']}{path}?locale={locale}")
            assert page.locator("html").get_attribute("lang") == locale
            problems = violations(Axe(), page)
            assert not problems, (path, problems)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (path, width)  # nothing wider than the phone
        if locale == "en":
            page.goto(f"{ids['base']}/operator/trips")
            save_docs_screenshot(page, "operator-trips-360", tmp_path)
            page.goto(f"{ids['base']}/operator/trips/{ids['confirmed']}")
            save_docs_screenshot(page, "operator-trip-360", tmp_path)
    finally:
        context.close()
