"""Every console page on a 360 px phone, with data in it (long addresses, several teammates,
API clients and the box with a new client's secret, a webhook endpoint, paid pledges with
their actions, a driver link): nothing scrolls sideways and every control is on screen, not
hidden in a table scrolled out of view. axe finds nothing on the pages at 360 and 1280 px.
Screenshots of each page at both widths go to the test's tmp folder."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.test_console import violations
from tests.conftest import run_jobs
from widget_server.domain.accounts.admins import create_admin
from widget_server.domain.clients import create_client
from widget_server.extensions import db
from widget_server.models import Partner, Pledge, Trip
from widget_server.webhooks.endpoints import checked_url, create_endpoint

OWNER = "owner.with.a.rather.long.address@demo-console-phone.example"
OPERATOR = "dispatch.and.operations.desk@harbor-coaches-and-charters.example"

# Controls whose box lies (partly) outside the viewport, or off to the left: a phone user
# cannot reach them without scrolling sideways, or cannot see them at all.
OFF_SCREEN = """() => {
  const out = [];
  const selector = 'a, button, input, select, textarea, summary, [tabindex]';
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2 || el.closest('[hidden]')) continue;
    if (el.classList.contains('skip')) continue;  // the skip link, on screen when focused
    if (getComputedStyle(el).visibility === 'hidden') continue;
    if (box.right > window.innerWidth + 0.5 || box.left < -0.5) {
      out.push(el.outerHTML.slice(0, 100));
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def seeded(world):
    """The demo partner with a team, API clients, an endpoint, an operator email on the open
    trip and paid pledges on the sold-out one."""
    url = checked_url(  # resolved before the transaction opens, as the console does
        "http://127.0.0.1:9/ridepledge/partner-integrations/events/receiver/endpoint",
        world.app.config["SETTINGS"],
    )
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        create_admin(session, partner, email=OWNER, password=PASSWORD, actor="test")
        for role in ("editor", "developer", "viewer"):
            email = f"{role}.teammate.with.long.name@demo-console-phone.example"
            create_admin(session, partner, email=email, role=role, password=None, actor="test")
        create_client(session, partner, "events:read trips:read", "Box office sync", actor="t")
        create_endpoint(
            session,
            partner,
            url=url,
            events=["pledge.created", "trip.confirmed"],
            description="Ticketing system",
            settings=world.app.config["SETTINGS"],
            actor="test",
        )
        trip = session.get(Trip, world.ids["open"])
        trip.operator_email = OPERATOR
        trip.operator_name = "Harbor Coaches and Charters"
    run_jobs(world.app)  # the sold-out trip's charge: its pledge is paid, with a boarding code
    return world


def sign_in(world, page):
    page.goto(f"{world.widget}/admin/login")
    page.fill("#email", OWNER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def test_every_console_page_fits_a_phone(seeded, context, tmp_path):
    world = seeded
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(world, page)
    ids = world.ids
    with world.app.app_context():
        paid = db.session.scalar(select(Pledge).where(Pledge.trip_id == ids["sold_out"]))
        assert paid.status == "paid"
    page.goto(f"{world.widget}/admin/trips/{ids['open']}")
    page.click("text=Issue the driver link")
    page.wait_for_selector("#driver-link")
    page.goto(f"{world.widget}/admin/webhooks")
    webhook_path = page.locator("main table a").first.get_attribute("href")
    pages = [
        ("home", "/admin/"),
        ("account", "/admin/account"),
        ("two-step", "/admin/account/two-step"),
        ("demand", "/admin/demand"),
        ("demand of one event", f"/admin/demand?event={ids['event']}"),
        ("new event", "/admin/events/new"),
        ("event", f"/admin/events/{ids['event']}"),
        ("new trip", f"/admin/events/{ids['event']}/trips/new"),
        ("trip with operator and driver link", f"/admin/trips/{ids['open']}"),
        ("trip with paid pledges", f"/admin/trips/{ids['sold_out']}"),
        ("edit trip", f"/admin/trips/{ids['open']}/edit"),
        ("cancel trip", f"/admin/trips/{ids['open']}/cancel"),
        ("cancel pledge", f"/admin/pledges/{paid.id}/cancel"),
        ("branding", "/admin/branding"),
        ("embed", f"/admin/embed?event={ids['event']}"),
        ("team", "/admin/team"),
        ("api clients", "/admin/clients"),
        ("webhooks", "/admin/webhooks"),
        ("webhook", webhook_path),
        ("audit", "/admin/audit"),
        ("fan data", "/admin/fans"),
    ]
    found, wide, unreachable = {}, [], {}
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages:
            page.goto(world.widget + path)
            page.wait_for_selector("h1")
            _check(page, f"{name} @{width}", found, wide, unreachable, tmp_path)
        # The box with a new client's secret exists only on the answer to creating it.
        page.goto(f"{world.widget}/admin/clients")
        page.fill("#c-name", f"Phone check {width}")
        page.check("label:has-text('events:read')")
        page.click("text=Create the client")
        page.wait_for_selector("#client-secret")
        _check(page, f"client created @{width}", found, wide, unreachable, tmp_path)
    # Printed, the trip page is a paper manifest: boarding codes, no navigation or actions.
    page.emulate_media(media="print")
    page.goto(f"{world.widget}/admin/trips/{ids['sold_out']}")
    assert page.locator(".boarding-code").first.is_visible()
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#pledges-h").is_visible()
    page.pdf(path=str(tmp_path / "manifest.pdf"))
    assert wide == []
    assert unreachable == {}
    bad = {name: problems for name, problems in found.items() if problems}
    assert bad == {}, "\n".join(f"{name}: {problem}" for name, p in bad.items() for problem in p)


def _check(page, name: str, found: dict, wide: list, unreachable: dict, folder) -> None:
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
        wide.append(name)
    if off := page.evaluate(OFF_SCREEN):
        unreachable[name] = off
    found[name] = violations(page)
    page.screenshot(path=str(folder / f"{name.replace(' ', '-')}.png"), full_page=True)
