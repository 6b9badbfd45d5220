"""Pricing in real Chromium: an editor creates a promo code through the console form (a bad
value first), edits it, sets early-bird steps and a group tier on a trip; the promo pages and
the trip form pass axe and fit a 360 px phone in English, Spanish and French. A fan opens the
widget's pledge form with the code from the link, sees the discounted total, changes the seats
and sees the total follow (the server's price quote), and an unusable code's reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.helpers import wait_page
from tests.browser.test_console import violations
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db
from widget_server.models import Partner, PromoCode, Trip

EDITOR = "editor@demo-pricing.example"
LOCALES = ("en", "es", "fr")


@pytest.fixture(scope="module")
def editor(world):
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        create_admin(session, partner, email=EDITOR, role="editor", password=PASSWORD, actor="test")
    return EDITOR


def sign_in(world, page) -> None:
    page.goto(f"{world.widget}/admin/login")
    page.fill("#email", EDITOR)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


# What sticks out on the right (the last few, the innermost first named last).
WIDEST = """() => [...document.querySelectorAll('body *')].filter(
  el => el.getBoundingClientRect().right > window.innerWidth + 0.5).slice(-5).map(
  el => el.outerHTML.slice(0, 200))"""


def fits(page) -> bool:
    return not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_promo_pages_and_price_rules_pass_axe_on_a_phone_in_every_language(world, editor, context):
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(world, page)
    page.goto(f"{world.widget}/admin/promo_codes")
    page.fill("#f-code", "fans 20")  # a space: refused, the field says why
    page.fill("#f-value", "20")
    page.click("text=Create the code")
    page.wait_for_selector("#f-code-error")
    found = {"refused @360": violations(page)}
    page.fill("#f-code", "FANS20")
    page.fill("#f-max_redemptions", "5")
    page.select_option("#f-scope", world.ids["open"])
    page.click("text=Create the code")
    page.wait_for_selector("text=Promo code FANS20 created.")
    with world.app.app_context():
        promo = db.session.scalar(select(PromoCode).where(PromoCode.code == "FANS20"))
        assert (promo.percent_off, promo.max_redemptions) == (20, 5)
    page.goto(f"{world.widget}/admin/trips/{world.ids['open']}/edit")
    page.fill("#f-group_tiers-0-min_seats", "4")
    page.fill("#f-group_tiers-0-percent_off", "10")
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=Group discounts")
    with world.app.app_context():
        assert db.session.get(Trip, world.ids["open"]).group_tiers == [
            {"min_seats": 4, "percent_off": 10}
        ]
    pages = [
        ("promo codes", "/admin/promo_codes"),
        ("promo code", f"/admin/promo_codes/{promo.id}"),
        ("edit trip", f"/admin/trips/{world.ids['open']}/edit"),
        ("trip", f"/admin/trips/{world.ids['open']}"),
        ("edit event", f"/admin/events/{world.ids['event']}"),
    ]
    wide = []
    for locale in LOCALES:
        for name, path in pages:
            page.goto(f"{world.widget}{path}?locale={locale}")
            page.wait_for_selector("h1")
            found[f"{name} {locale}"] = violations(page)
            if not fits(page):
                wide.append(f"{name} {locale}: {page.evaluate(WIDEST)}")
    assert wide == []
    bad = {name: problems for name, problems in found.items() if problems}
    assert bad == {}, "\n".join(f"{name}: {p}" for name, ps in bad.items() for p in ps)


def test_a_fan_sees_the_code_and_the_tier_in_the_total_before_the_card(world, editor, context):
    with world.app.app_context(), db.transaction() as session:
        trip = session.get(Trip, world.ids["open"])
        trip.group_tiers = [{"min_seats": 4, "percent_off": 10}]
        if not session.scalar(select(PromoCode).where(PromoCode.code == "KIDS")):
            session.add(
                PromoCode(partner_id=trip.partner_id, code="KIDS", percent_off=50, active=True)
            )
        unit = trip.unit_amount
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{world.widget}/w/demo/trips/{world.ids['open']}/pledge?promo=kids")
    wait_page(page, "[data-total]")
    total = page.locator("[data-total]")

    def dollars(cents: int) -> str:
        return f"${cents / 100:,.2f}"

    assert dollars(unit // 2) in total.inner_text()
    page.fill("#seats", "4")  # 4 seats: the tier (10%), then the code (50% of the rest)
    expected = 4 * unit - (4 * unit + 5) // 10
    expected -= (expected + 1) // 2
    page.wait_for_function(
        "text => document.querySelector('[data-total]').textContent.includes(text)",
        arg=dollars(expected),
    )
    page.fill("#promo_code", "NOPE")
    page.click("[data-apply-promo]")
    refused = page.locator("text=This code does not exist. Check its spelling.")
    refused.wait_for()
    page.wait_for_function(
        "text => document.querySelector('[data-total]').textContent.includes(text)",
        arg=dollars(4 * unit - (4 * unit + 5) // 10),
    )
    assert refused.is_visible()  # the total without the code does not hide why it went
    assert violations(page) == []
