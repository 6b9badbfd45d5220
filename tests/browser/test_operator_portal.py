"""The operator portal in a real browser: the sign-in page and every signed-in page, in
English, Spanish and French, at 360 px (a phone) and 1280 px: axe finds nothing, and on the
phone no control lies off screen. The pages carry data (compliance warnings, a vehicle, a
driver, a teammate) so the tables and alerts are checked too."""

from __future__ import annotations

import pytest

from tests.admin_helpers import PASSWORD
from tests.browser.conftest import save_docs_screenshot
from tests.browser.test_console import violations
from tests.browser.test_console_phone import OFF_SCREEN
from tests.factories import make_operator
from widget_server.domain.accounts.admins import create_admin, find_admin, set_password
from widget_server.domain.operators import operators
from widget_server.extensions import db

OWNER = "owner@harbor-coaches.example"
PAGES = ("", "profile", "fleet", "drivers", "team", "account", "account/two-step")


@pytest.fixture(scope="module")
def portal(world):
    """An operator with a lapsed insurance (so the compliance alert shows), a vehicle, a
    driver and a teammate; its owner has a password."""
    with world.app.app_context(), db.transaction() as session:
        operator = make_operator(
            session,
            "harbor-coaches",
            name="Harbor Coaches and Charters",
            usdot_number=None,
            insurance_expires_on="2020-01-31",
        )
        set_password(session, find_admin(session, OWNER), PASSWORD, actor="test")
        create_admin(
            session,
            operator,
            email="dispatch@harbor-coaches.example",
            role="dispatcher",
            actor="test",
        )
        operators.add_vehicle(
            session,
            operator,
            {"name": "Coach 12", "kind": "coach", "seats": 55, "plate": "KS 4411"},
            actor="test",
        )
        operators.add_driver(
            session,
            operator,
            {"name": "Dana Okafor", "phone": "+13125550100", "email": "dana@harbor.example"},
            actor="test",
        )
    return world


@pytest.mark.parametrize("width", [360, 1280])
def test_portal_pages_are_accessible_in_three_languages(portal, browser, width, tmp_path):
    for locale in ("en", "es", "fr"):
        context = browser.new_context(
            viewport={"width": width, "height": 800},
            locale=locale,
            extra_http_headers={"Accept-Language": locale},
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{portal.widget}/operator/login")
        assert page.locator("html").get_attribute("lang") == locale
        found = violations(page)
        assert found == [], (locale, width, "login", found)
        page.fill("#email", OWNER)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("form[action$='/operator/logout']")
        for name in PAGES:
            page.goto(f"{portal.widget}/operator/{name}")
            page.wait_for_selector("h1")
            found = violations(page)
            assert found == [], (locale, width, name, found)
            if width == 360:
                assert page.evaluate(OFF_SCREEN) == [], (locale, name)
            if locale == "en" and name in ("profile", "fleet"):  # for docs/operators.md
                save_docs_screenshot(page, f"operator-{name}-{width}", tmp_path)
        context.close()
