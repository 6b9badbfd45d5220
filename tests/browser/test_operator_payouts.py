"""The portal's Payouts page in real Chromium: axe-clean at 360 px in English, Spanish and French
and at 1280 px, nothing wider than a phone, the CSV a click away; the screenshot for
docs/operators.md."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.admin_helpers import PASSWORD
from tests.browser.conftest import save_docs_screenshot
from tests.browser.test_accessibility import violations
from tests.conftest import LiveServer, empty_all_tables, make_settings
from tests.factories import make_partner
from tests.functional.operators.portal_helpers import crew
from tests.functional.payout_helpers import complete, make_awarded_trip, payouts
from widget_server import create_app
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Operator


# Named `world` so that tests/conftest.py's per-test database cleaning leaves it in place.
@pytest.fixture(scope="module")
def world(browser, database_url, migrated_engine, tmp_path_factory):
    """Prairie Coach, connected to Stripe, paid for one trip and owed another."""
    settings = make_settings(database_url, tmp_path_factory.mktemp("payouts-instance"))
    app = create_app(settings, TESTING=True)
    server = LiveServer(app)
    settings.public_base_url = server.url
    people = crew(app, roles=("owner",))
    with app.app_context(), db.transaction() as session:
        operator = session.get(Operator, people["operator_id"])
        operator.stripe_account_id = "acct_simprairiecoach"
        partner = make_partner(session, "kc-chiefs", name="Kansas City Chiefs")
        complete(session, make_awarded_trip(session, operator, partner, title="Chiefs vs Broncos"))
    with app.app_context():
        tasks.pay_operator(payouts(db.session)[0].id)
    with app.app_context(), db.transaction() as session:
        operator = session.get(Operator, people["operator_id"])
        owed = make_awarded_trip(session, operator, partner, amount=99000, title="Chiefs vs Jets")
        complete(session, owed)  # its job is not run: owed, not paid yet
    server.start()
    yield server.url, people
    server.stop()
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


def signed_in_page(browser, base: str, email: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/operator/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")
    return context, page


@pytest.mark.parametrize(
    ("locale", "heading", "paid"),
    [("en", "Payouts", "Paid"), ("es", "Pagos", "Pagado"), ("fr", "Versements", "Payé")],
)
def test_payouts_page_is_axe_clean_on_a_phone(browser, world, tmp_path, locale, heading, paid):
    base, people = world
    context, page = signed_in_page(browser, base, people["owner"], 360)
    try:
        page.goto(f"{base}/operator/payouts?locale={locale}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        cards = page.locator(".payout-cards .card")
        expect(cards).to_have_count(2)
        expect(cards.first).to_contain_text("Chiefs vs Jets")  # newest first
        expect(cards.last).to_contain_text(paid)
        expect(cards.last).to_contain_text("tr_sim_")
        assert not violations(Axe(), page)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 360, f"the page is {wide} px wide on a 360 px phone"
        if locale == "en":
            save_docs_screenshot(page, "operator-payouts-360", tmp_path)
            with page.expect_download() as download:
                page.get_by_role("link", name="Download CSV").click()
            assert download.value.suggested_filename == "payouts-prairie-coach.csv"
    finally:
        context.close()


def test_payouts_page_is_axe_clean_on_a_desk(browser, world):
    base, people = world
    context, page = signed_in_page(browser, base, people["owner"], 1280)
    try:
        page.goto(f"{base}/operator/payouts")
        expect(page.locator(".payout-cards .card")).to_have_count(2)
        assert not violations(Axe(), page)
    finally:
        context.close()
