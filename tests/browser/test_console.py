"""The partner console in real Chromium: signing in (lockout, reset), an editor running a trip
from the browser while a fan pledges in the widget, a viewer refused by the server, and axe on
every console page at desktop and phone width (and dark). Screenshots for docs/admin.md."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.conftest import save_docs_screenshot
from tests.conftest import run_jobs
from tests.unit.email_helpers import outbox_file, parse, parts
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db
from widget_server.models import OutboundEmail, Partner, Pledge

PHONE = {"width": 360, "height": 800}


@pytest.fixture(scope="module")
def team(world):
    """Console admins of the demo partner, one per role."""
    emails = {}
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        for role in ("owner", "editor", "viewer"):
            emails[role] = f"{role}@demo-console.example"
            create_admin(
                session, partner, email=emails[role], role=role, password=PASSWORD, actor="test"
            )
        create_admin(
            session, partner, email="locked@demo-console.example", password=PASSWORD, actor="test"
        )
    return emails


def sign_in(world, page, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{world.widget}/admin/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{rule['id']} ({rule['impact']}): {node['target']} {node['failureSummary']}"
        for rule in results.response["violations"]
        for node in rule["nodes"]
    ]


def test_an_owner_signs_in_and_out(world, team, page):
    sign_in(world, page, team["owner"])
    page.wait_for_selector("text=Sign out")
    assert page.locator("h1").inner_text() == "Events and trips"
    cookie = next(c for c in page.context.cookies() if c["name"] == "ridepledge_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/admin"
    page.click("text=Sign out")
    page.wait_for_selector("text=You are signed out.")
    page.goto(f"{world.widget}/admin/")
    assert "/admin/login" in page.url


def test_lockout_then_reset_by_email(world, team, page, tmp_path):
    email = "locked@demo-console.example"
    for _ in range(5):
        sign_in(world, page, email, "not the password")
        page.wait_for_selector("[role=alert]")
    refused = page.locator("[role=alert]").inner_text()
    sign_in(world, page, email)  # the right password, but locked
    assert page.locator("[role=alert]").inner_text() == refused
    sign_in(world, page, "nobody@demo-console.example")
    assert page.locator("[role=alert]").inner_text() == refused
    assert violations(page) == []
    save_docs_screenshot(page, "admin-sign-in-refused", tmp_path)

    page.click("text=Reset my password")
    page.fill("#email", email)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your email")
    run_jobs(world.app)  # the lookup job queues the email, which the next job sends
    with world.app.app_context():
        email_id = db.session.scalar(
            select(OutboundEmail.id).where(OutboundEmail.to_address == email)
        )
    _subject, text, _html = parts(
        parse(outbox_file(world.app.config["SETTINGS"], email_id).read_bytes())
    )
    link = re.search(r"http://\S+/admin/password/reset/\S+", text).group(0)
    page.goto(link)
    page.fill("#password", "my new console passphrase")
    page.fill("#confirm", "my new console passphrase")
    assert violations(page) == []
    page.click("button[type=submit]")
    page.wait_for_selector("text=Your password is set.")
    sign_in(world, page, email, "my new console passphrase")
    page.wait_for_selector("text=Sign out")


def test_an_editor_runs_a_trip_and_sees_a_widget_pledge_appear(world, team, context, tmp_path):
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(world, page, team["editor"])
    page.click("text=New event")
    page.fill("#f-title", "Demo City FC vs. Northside")
    page.fill("#f-venue", "Harbor Stadium")
    page.fill("#f-starts_at", "2031-06-01T19:30")
    page.select_option("#f-timezone", "America/Chicago")
    page.click("text=Save the event")
    page.wait_for_selector("h1:has-text('Northside')")
    page.click("text=New trip to this event")
    page.fill("#f-origin-name", "Riverton")
    page.fill("#f-stops-0-name", "Riverton Depot")
    page.fill("#f-stops-0-address", "10 Depot Rd")
    page.fill("#f-stops-0-departs_at", "2031-06-01T15:00")
    page.fill("#f-stops-1-name", "Millbrook")
    page.fill("#f-stops-1-address", "5 Mill St")
    page.fill("#f-stops-1-departs_at", "2031-06-01T15:40")
    page.fill("#f-capacity", "30")
    page.fill("#f-min_riders", "10")
    page.fill("#f-price", "25")
    page.fill("#f-pledge_deadline", "2031-05-30T20:00")
    page.fill("#f-operator-name", "Harbor Coaches")
    assert violations(page) == []
    save_docs_screenshot(page, "admin-trip-form", tmp_path)
    page.click("text=Save the trip")
    page.wait_for_selector("text=Draft trip saved.")
    page.click("text=Open for pledges")
    page.wait_for_selector("text=The trip is open")
    trip_id = page.url.rsplit("/", 1)[1]
    assert page.locator("[data-field=seats_pledged]").inner_text() == "0"

    fan = context.new_page()
    fan.goto(f"{world.widget}/w/demo/trips/{trip_id}/pledge")
    fan.fill("#seats", "2")
    fan.fill("#name", "Widget Fan")
    fan.fill("#email", "widget.fan@example.com")
    fan.fill("#card_number", "4242424242424242")
    fan.click("button[data-submit]")
    fan.wait_for_selector("text=Pledge received")

    # The open trip page refreshes its numbers by itself.
    page.wait_for_function(
        "() => document.querySelector('[data-field=seats_pledged]').textContent === '2'",
        timeout=20_000,
    )
    page.reload()
    assert "Widget Fan" in page.locator("table").last.inner_text()
    assert violations(page) == []
    save_docs_screenshot(page, "admin-trip", tmp_path)
    page.set_viewport_size(PHONE)
    save_docs_screenshot(page, "admin-trip-phone", tmp_path)


def test_a_viewer_cannot_change_anything_the_server_refuses(world, team, page):
    sign_in(world, page, team["viewer"])
    page.goto(f"{world.widget}/admin/trips/{world.ids['open']}")
    assert page.locator("text=Cancel the trip").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    statuses = page.evaluate(
        """async ([trip, token]) => {
            const out = [];
            for (const path of [`/admin/trips/${trip}/cancel`, `/admin/trips/${trip}/edit`,
                                '/admin/events/new']) {
                const body = new URLSearchParams({csrf_token: token});
                out.push((await fetch(path, {method: 'POST', body})).status);
            }
            return out;
        }""",
        [world.ids["open"], token],
    )
    assert statuses == [403, 403, 403]
    with world.app.app_context():
        from widget_server.models import Trip

        assert db.session.get(Trip, world.ids["open"]).status == "open"


def test_axe_finds_nothing_on_any_console_page(world, team, context, tmp_path):
    page = context.new_page()
    page.goto(f"{world.widget}/admin/login")
    found = {}
    public = [("login", "/admin/login"), ("forgot", "/admin/password/forgot")]
    for name, path in public:
        page.goto(world.widget + path)
        found[name] = violations(page)
    save_docs_screenshot(page, "admin-forgot", tmp_path)
    page.goto(f"{world.widget}/admin/login")
    save_docs_screenshot(page, "admin-login", tmp_path)
    sign_in(world, page, team["owner"])
    page.wait_for_selector("text=Sign out")
    with world.app.app_context():
        pledge_id = db.session.scalar(
            select(Pledge.id).where(Pledge.trip_id == world.ids["sold_out"])
        )
    ids = world.ids
    pages = [
        ("home", "/admin/"),
        ("account", "/admin/account"),
        ("two-step sign-in", "/admin/account/two-step"),
        ("demand", "/admin/demand"),
        ("demand of one event", f"/admin/demand?event={ids['event']}"),
        ("new event", "/admin/events/new"),
        ("event", f"/admin/events/{ids['event']}"),
        ("new trip", f"/admin/events/{ids['event']}/trips/new"),
        ("trip", f"/admin/trips/{ids['open']}"),
        ("trip search", f"/admin/trips/{ids['sold_out']}?q=early"),
        ("edit trip", f"/admin/trips/{ids['open']}/edit"),
        ("cancel trip", f"/admin/trips/{ids['open']}/cancel"),
        ("cancel pledge", f"/admin/pledges/{pledge_id}/cancel"),
        ("branding", "/admin/branding"),
        ("team", "/admin/team"),
        ("api clients", "/admin/clients"),
        ("audit", "/admin/audit"),
        ("audit filtered", "/admin/audit?action=trip."),
        ("embed", f"/admin/embed?event={ids['event']}"),
        ("fan data", "/admin/fans"),
        ("not found", "/admin/trips/trp_nothing"),
    ]
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages:
            page.goto(world.widget + path)
            page.wait_for_selector("h1")
            found[f"{name} @{width}"] = violations(page)
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not overflow, f"{name} scrolls sideways at {width} px"
        page.goto(world.widget + f"/admin/events/{ids['event']}/trips/new")
        page.click("text=Save the trip")  # empty: every required field is named
        page.wait_for_selector("#form-errors")
        found[f"trip form errors @{width}"] = violations(page)
        page.goto(world.widget + "/admin/fans")
        page.fill("input[name=email]", "nobody@fans.example")
        page.click("text=Erase their data")  # the confirmation, with what would go
        page.wait_for_selector("text=Erase for good")
        found[f"fan erasure @{width}"] = violations(page)
        save_docs_screenshot(page, f"admin-fan-erase-{width}", tmp_path)
        page.goto(world.widget + "/admin/")
        save_docs_screenshot(page, f"admin-home-{width}", tmp_path)
        page.goto(world.widget + "/admin/team")
        save_docs_screenshot(page, f"admin-team-{width}", tmp_path)
    # The console follows the browser's dark preference: every page again, dark, on a phone.
    page.emulate_media(color_scheme="dark")
    for name, path in pages:
        page.goto(world.widget + path)
        page.wait_for_selector("h1")
        if name != "not found":  # the site's own error page (a malformed id), not the console's
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(21, 24, 28)", f"{name} is not dark"
        found[f"{name} dark @360"] = violations(page)
    assert {name: problems for name, problems in found.items() if problems} == {}
