"""Two-step sign-in and the demand page in real Chromium: an owner sets up TOTP from the account
page (the code computed with pyotp from the key shown), signs out, signs in with password and
code; the demand page shows its chart and the table, and "start a draft trip from here" opens
the new-trip form prefilled. axe at 1280 and 360 px. Screenshots for docs/admin.md."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.conftest import save_docs_screenshot
from tests.browser.test_console import sign_in, violations
from tests.factories import make_demand
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db
from widget_server.models import Event, Partner
from widget_server.models.types import utcnow

OWNER = "two-step-owner@demo-console.example"
PEOPLE = {"editor": "demand-editor@demo-console.example", "viewer": "demand-viewer@demo.example"}
ORIGINS = {"Springfield": 9, "Lakeside": 6, "Oak Ridge": 4, "Cedar Grove Township North": 2}
WIDTHS = (1280, 360)


@pytest.fixture(scope="module")
def seeded(world):
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        create_admin(session, partner, email=OWNER, password=PASSWORD, actor="test")
        for role in ("editor", "viewer"):
            create_admin(
                session, partner, email=PEOPLE[role], role=role, password=PASSWORD, actor="test"
            )
        event = session.get(Event, world.ids["event"])
        for origin, fans in ORIGINS.items():
            make_demand(session, partner, event, origin, fans)
    return world


def code(secret: str, seconds_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=seconds_from_now))


def check_page(page, found: dict, name: str) -> None:
    found[name] = violations(page)
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    if overflow:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                             && !e.closest('.table-wrap'))
                .map(e => e.tagName + ' ' + Math.round(e.getBoundingClientRect().right))"""
        )
        raise AssertionError(f"{name} scrolls sideways: {wide[:5]}")


def test_an_owner_sets_up_two_step_sign_in_then_signs_in_with_a_code(seeded, context, tmp_path):
    world, found = seeded, {}
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(world, page, OWNER)
    page.wait_for_selector("text=Sign out")
    page.click("header >> text=" + OWNER)
    page.click("text=Set up two-step sign-in")
    page.click("button:has-text('Set up two-step sign-in')")
    page.wait_for_selector(".qr-code svg")
    assert page.locator(".qr-code[role=img]").get_attribute("aria-label")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_page(page, found, f"set-up @{width}")
    save_docs_screenshot(page, "admin-two-step-set-up", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.fill("#code", "000000" if code(secret) != "000000" else "111111")
    page.click("text=Turn two-step sign-in on")
    page.wait_for_selector("text=This is not the code your app shows now")
    check_page(page, found, "set-up refused")
    page.fill("#code", code(secret))
    page.click("text=Turn two-step sign-in on")
    page.wait_for_selector("h1:has-text('Your recovery codes')")
    codes = page.locator("#recovery-codes").inner_text().split()
    assert len(codes) == 10
    download = page.locator("a[download]")
    assert download.get_attribute("download") == "ridepledge-recovery-codes.txt"
    assert codes[0] in download.get_attribute("href")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_page(page, found, f"recovery codes @{width}")
    save_docs_screenshot(page, "admin-recovery-codes", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("text=I have saved them")
    page.click("text=Sign out")
    page.wait_for_selector("text=You are signed out.")

    sign_in(world, page, OWNER)
    page.wait_for_selector("h1:has-text('Two-step sign-in')")
    assert page.url.endswith("/admin/login/code")
    page.goto(f"{world.widget}/admin/")
    assert "/admin/login" in page.url  # the password alone opened nothing
    sign_in(world, page, OWNER)
    page.wait_for_selector("#code")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_page(page, found, f"sign-in code @{width}")
    save_docs_screenshot(page, "admin-login-code", tmp_path)
    page.fill("#code", code(secret, 30))  # the set-up's code is spent: the next one
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")
    assert page.locator("h1").inner_text() == "Events and trips"
    page.goto(f"{world.widget}/admin/account/two-step")
    assert "10 unused recovery codes" in page.locator("main").inner_text()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_page(page, found, f"two-step on @{width}")
    page.goto(f"{world.widget}/admin/team")
    check_page(page, found, "team with the requirement @360")
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_the_demand_page_charts_requests_and_starts_a_draft_trip(seeded, context, tmp_path):
    world, found = seeded, {}
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(world, page, PEOPLE["editor"])
    page.wait_for_selector("text=Sign out")
    page.click("nav >> text=Demand")
    page.wait_for_selector("svg.demand-chart")
    chart = page.locator("svg.demand-chart")
    assert chart.get_attribute("role") == "img"
    assert "Springfield 9, Lakeside 6, Oak Ridge 4" in chart.locator("desc").text_content()
    rows = page.locator("tbody tr th[scope=row]").all_inner_texts()
    assert rows == list(ORIGINS)
    label_colours = set()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        label_colours.add(chart.locator("text").first.evaluate("t => getComputedStyle(t).fill"))
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            check_page(page, found, f"demand {scheme} @{width}")
            bars = chart.locator("rect").evaluate_all(
                "rects => rects.map(r => r.getBoundingClientRect().width)"
            )
            svg_width = chart.evaluate("svg => svg.getBoundingClientRect().width")
            assert bars[0] == pytest.approx(svg_width, abs=1), "the top origin fills the chart"
            assert bars == sorted(bars, reverse=True)
            assert bars[-1] == pytest.approx(svg_width * 2 / 9, abs=2)
            labels = chart.locator("text").evaluate_all(
                "texts => texts.map(t => t.getBoundingClientRect().right)"
            )
            assert max(labels) <= svg_width + 1, "a label runs out of the chart"
            if (scheme, width) in {("light", 360), ("dark", 1280)}:  # those docs/admin.md shows
                name = f"admin-demand-{scheme}-{width}"
                save_docs_screenshot(chart.locator("xpath=.."), name, tmp_path)
    assert len(label_colours) == 2  # the chart's text follows the console's scheme
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 900})
    save_docs_screenshot(page, "admin-demand", tmp_path)
    page.select_option("#event", world.ids["event"])
    page.click("button:has-text('Show')")
    page.wait_for_url(re.compile(r"event="))
    page.click("a:has-text('Start a draft trip from here') >> nth=1")  # Lakeside
    page.wait_for_selector("h1:has-text('New trip')")
    assert page.locator("#f-origin-name").input_value() == "Lakeside"
    assert page.locator("#f-stops-0-name").input_value() == "Lakeside"
    check_page(page, found, "prefilled trip form")
    save_docs_screenshot(page, "admin-demand-draft-trip", tmp_path)
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_a_viewer_sees_demand_but_the_server_refuses_the_draft_trip(seeded, page):
    world = seeded
    sign_in(world, page, PEOPLE["viewer"])
    page.wait_for_selector("text=Sign out")
    page.goto(f"{world.widget}/admin/demand")
    page.wait_for_selector("svg.demand-chart")
    assert page.locator("text=Start a draft trip from here").count() == 0
    answer = page.goto(
        f"{world.widget}/admin/events/{world.ids['event']}/trips/new?origin=Lakeside"
    )
    assert answer.status == 403
