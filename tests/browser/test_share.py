"""Share and group in real Chromium: fan A pledges in the widget on the partner's page, copies
the share link, friend B opens it, lands on the same trip's pledge form with A's stop chosen,
pledges, and the referral shows on B's pledge (partner API and console trip page). Then the
same without a partner page: the share link opens the public trip page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.api_helpers import issue_token
from tests.browser.conftest import DEMO_LOGO
from tests.browser.helpers import open_host, wait_heard, wait_page, widget_frame
from widget_server.domain.accounts.admins import create_admin
from widget_server.domain.manifest import ON_MANIFEST
from widget_server.domain.partners import update_partner
from widget_server.extensions import db
from widget_server.models import Partner, Pledge, Trip


def _demo(session) -> Partner:
    return session.scalar(select(Partner).where(Partner.slug == "demo"))


@pytest.fixture
def site_url(world):
    """The demo partner's page with the widget (`site_url`) on the partner site, for one test."""
    url = world.site.origin + "/rides"
    with world.app.app_context(), db.transaction() as session:
        update_partner(session, _demo(session), {"site_url": url}, actor="test")
    yield url
    with world.app.app_context(), db.transaction() as session:
        update_partner(session, _demo(session), {"site_url": None}, actor="test")


def _fan_context(browser, **kwargs):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **kwargs)
    context.route(
        "https://demo-city-fc.example/**",
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=DEMO_LOGO),
    )
    return context


def _fill_pledge(form_root, name: str, email: str) -> None:
    form_root.fill("#name", name)
    form_root.fill("#email", email)
    form_root.fill("#card_number", "4242 4242 4242 4242")
    form_root.click("button[data-submit]")


def _pledge_of(world, email: str) -> Pledge:
    with world.app.app_context():
        return db.session.scalar(select(Pledge).where(Pledge.email == email))


def _stops(world) -> list[str]:
    with world.app.app_context():
        return [stop.id for stop in db.session.get(Trip, world.ids["open"]).stops]


def test_a_friend_follows_the_share_link_to_the_partner_page_and_is_counted(
    world, browser, site_url
):
    trip_id = world.ids["open"]
    second_stop = _stops(world)[1]
    body = (
        f'<div id="rides" data-ridepledge data-partner="demo" data-event="{world.ids["event"]}">'
        "</div>"
    )

    # Fan A pledges inside the widget on the partner's page, from the second stop.
    fan = _fan_context(browser, permissions=["clipboard-read", "clipboard-write"])
    try:
        page = fan.new_page()
        page.set_default_timeout(10_000)
        open_host(world, page, body, path="/rides")
        wait_heard(page, "ready")
        frame = widget_frame(page, world)
        wait_page(frame)
        frame.click(f'a[href*="/trips/{trip_id}?"]')
        wait_page(frame, "text=Bus from Springfield")
        frame.click('a[href*="/pledge"]')
        wait_page(frame, "form[data-pledge-form]")
        frame.check(f'input[name=stop_id][value="{second_stop}"]')
        _fill_pledge(frame, "Ana Sharer", "ana.sharer@example.com")
        wait_page(frame, "text=Pledge received. Thank you, Ana Sharer!")
        wait_page(frame, "[data-share-link]")
        shown = frame.input_value("[data-share-link]")
        frame.click("button[data-copy]")
        frame.wait_for_selector("[data-copied]:not([hidden])")
        copied = page.evaluate("navigator.clipboard.readText()")
    finally:
        fan.close()
    assert copied == shown
    link = urlsplit(copied)
    assert f"{link.scheme}://{link.netloc}{link.path}" == site_url
    query = parse_qs(link.query)
    assert (query["rp"], query["rp_trip"], query["rp_stop"]) == (["demo"], [trip_id], [second_stop])
    ana = _pledge_of(world, "ana.sharer@example.com")
    assert "ana" not in copied.lower() and "sharer" not in copied.lower()

    # Friend B opens the link: the widget opens at that trip's pledge form, A's stop chosen.
    friend = _fan_context(browser)
    try:
        page = friend.new_page()
        page.set_default_timeout(10_000)
        page.goto(copied)
        wait_heard(page, "ready")
        frame = widget_frame(page, world)
        wait_page(frame, "form[data-pledge-form]")
        assert f"/w/demo/trips/{trip_id}/pledge?" in frame.url
        assert frame.eval_on_selector("input[name=stop_id]:checked", "e => e.value") == second_stop
        _fill_pledge(frame, "Bo Friend", "bo.friend@example.com")
        created = wait_heard(page, "pledge.created")[0]["detail"]
        wait_page(frame, "text=Pledge received. Thank you, Bo Friend!")
    finally:
        friend.close()
    bo = _pledge_of(world, "bo.friend@example.com")
    assert created["pledge_id"] == bo.id
    assert (bo.trip_id, bo.stop_id, bo.referred_by) == (trip_id, second_stop, ana.id)

    # The partner sees it: the API on B's pledge and A's count, and the console's trip page.
    token = issue_token(world.app, ana.partner_id)
    headers = {"Authorization": f"Bearer {token}"}
    shown_bo = requests.get(f"{world.widget}/v1/pledges/{bo.id}", headers=headers, timeout=10)
    assert shown_bo.json()["referred_by"] == ana.id
    shown_ana = requests.get(f"{world.widget}/v1/pledges/{ana.id}", headers=headers, timeout=10)
    assert shown_ana.json()["referrals"] == 1

    with world.app.app_context(), db.transaction() as session:
        create_admin(
            session,
            _demo(session),
            email="share-viewer@demo-console.example",
            role="viewer",
            password=PASSWORD,
            actor="test",
        )
    console = _fan_context(browser)
    try:
        page = console.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{world.widget}/admin/login")
        page.fill("#email", "share-viewer@demo-console.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        page.goto(f"{world.widget}/admin/trips/{trip_id}")
        bo_row = page.locator("tr", has_text="bo.friend@example.com")
        assert bo_row.locator(f'[data-referred-by="{ana.id}"]').inner_text() == "Ana Sharer"
        ana_row = page.locator("tr", has_text="ana.sharer@example.com")
        assert ana_row.locator("[data-referrals]").inner_text() == "1"
        rider = page.locator("#manifest-h ~ ul li", has_text="Ana Sharer").inner_text()
        assert rider.startswith("Ana Sharer (1)") and rider.endswith("brought 1")
        # Other tests of the module may add referred pledges to the shared trip first.
        with world.app.app_context():
            referred = db.session.scalars(
                select(Pledge).where(
                    Pledge.trip_id == trip_id,
                    Pledge.referred_by.is_not(None),
                    Pledge.status.in_(ON_MANIFEST),
                )
            ).all()
        totals = f": {len(referred)} · seats: {sum(p.seats for p in referred)}"
        assert page.locator("[data-referred]").inner_text().endswith(totals)
    finally:
        console.close()


def test_without_a_partner_page_the_link_opens_the_public_trip_page(world, browser):
    trip_id = world.ids["open"]
    second_stop = _stops(world)[1]
    answer = requests.post(
        f"{world.widget}/w/demo/api/trips/{trip_id}/pledges",
        json={
            "stop_id": second_stop,
            "seats": 1,
            "name": "Cy Sharer",
            "email": "cy.sharer@example.com",
            "payment_method": "pm_card_visa",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    link = answer.json()["share_url"]
    assert urlsplit(link).path == f"/t/demo/{trip_id}"
    cy = _pledge_of(world, "cy.sharer@example.com")

    friend = _fan_context(browser)
    try:
        page = friend.new_page()
        page.set_default_timeout(10_000)
        page.goto(link)
        assert (
            "A friend invited you to ride from" in page.locator("[data-shared-stop]").inner_text()
        )
        page.click("[data-pledge-link]")
        page.wait_for_selector("form[data-pledge-form]")
        assert page.eval_on_selector("input[name=stop_id]:checked", "e => e.value") == second_stop
        _fill_pledge(page, "Dee Friend", "dee.friend@example.com")
        page.wait_for_selector("text=Pledge received. Thank you, Dee Friend!")
        # Her own share link is on her confirmation page, with the copy button JavaScript shows.
        page.wait_for_selector("button[data-copy]", state="visible")  # once widget.js ran
        assert f"/t/demo/{trip_id}?stop=" in page.input_value("[data-share-link]")
        has_web_share = page.evaluate("typeof navigator.share === 'function'")
        assert page.is_visible("button[data-web-share]") == has_web_share
    finally:
        friend.close()
    assert _pledge_of(world, "dee.friend@example.com").referred_by == cy.id
