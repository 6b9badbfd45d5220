"""The driver's queue in real Chromium never drops a boarding: check-ins refused by the server
(the link was re-issued while the phone was offline; the phone's clock is an hour fast) stay on
the phone, are shown with what to do, and are applied once resolved. Riders with the same name
are told apart, and times read the same before and after the page's script runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.test_driver_checkin import SECRET, boardings, open_driver, result, type_code
from tests.conftest import LiveServer, empty_all_tables, make_settings, run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import fan_request
from widget_server import create_app
from widget_server.domain import boarding, checkin
from widget_server.domain.pledges import recording
from widget_server.extensions import db
from widget_server.models import CheckIn, Pledge, Trip
from widget_server.models.types import utcnow

# (name, stop). Each test boards its own riders, so they run in any order.
NAMES = (("Sam Lee", 0), ("Sam Lee", 1), ("Ana Paid", 0), ("Bea Paid", 1))


@pytest.fixture(scope="module")
def world(browser, database_url, migrated_engine, tmp_path_factory):
    """A confirmed trip: two riders named Sam Lee (one per stop), Ana and Bea."""
    settings = make_settings(database_url, tmp_path_factory.mktemp("driver-queue"))
    app = create_app(settings, TESTING=True)
    server = LiveServer(app)
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=10, min_riders=len(NAMES))
        ids = {"trip": trip.id, "pledges": []}
        for name, stop in NAMES:
            request = fan_request(trip, name, stop=stop)
            request.email = f"{name.split()[0].lower()}{stop}@example.com"
            ids["pledges"].append(
                recording.create_pledge(session, provider, partner, trip.id, request).id
            )
    run_jobs(app)
    with app.app_context():
        ids["codes"] = [
            boarding.boarding_code(SECRET, db.session.get(Pledge, p)) for p in ids["pledges"]
        ]
    ids["server"] = server.url
    server.start()
    yield app, ids
    server.stop()
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


def reissue(app, ids, now: datetime | None = None) -> str:
    """The organiser issues a new driver link (ending the old one), at `now`; its URL."""
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, ids["trip"])
        link = checkin.new_driver_link(session, trip, actor="test", now=now)
    return f"{ids['server']}/d/{checkin.driver_token(SECRET, link)}"


def open_with_clock(browser, url, moment: datetime):
    """A phone whose clock reads `moment` (and runs on from there)."""
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-US")
    context.clock.install(time=moment)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    page.wait_for_selector("html[data-driver-ready]")
    return context, page


def queue_drained(page, ids) -> None:
    """Wait until the phone has nothing left to send (or resolve)."""
    store = f"rp-driver:{ids['trip']}"
    page.wait_for_function(f"() => !JSON.parse(localStorage.getItem('{store}')).queue.length")


def checkins(app) -> list[CheckIn]:
    with app.app_context():
        return list(db.session.scalars(select(CheckIn)))


def test_refused_check_ins_stay_are_shown_and_are_applied_from_the_new_link(browser, world):
    app, ids = world
    sam_at_stop_2, bea = ids["pledges"][1], ids["pledges"][3]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    old_url = reissue(app, ids, utcnow() - timedelta(hours=2))
    context, page = open_with_clock(browser, old_url, an_hour_ago)
    try:
        context.set_offline(True)
        page.locator(f"[data-rider='{sam_at_stop_2}'] button").click()
        assert result(page)[0] == "ok"
        type_code(page, ids["codes"][3])
        assert result(page)[0] == "ok"
        expect(page.locator("[data-pending]")).to_have_text("2 check-ins waiting to be sent")

        new_url = reissue(app, ids)  # while the phone is offline
        context.set_offline(False)
        refused = page.locator("[data-refused-item]")
        expect(refused).to_have_count(2)
        expect(page.locator("[data-refused]")).to_be_visible()
        expect(page.locator("[data-link-replaced]")).to_be_visible()
        expect(page.locator("[data-pending]")).to_be_hidden()
        for index in range(2):
            assert refused.nth(index).get_attribute("data-reason") == "link"
        assert "this driver link was replaced" in refused.first.inner_text()
        assert "Sam Lee · Stop 2" in page.locator("[data-refused]").inner_text()
        assert not {sam_at_stop_2, bea} & set(boardings(app))
        assert not [row for row in checkins(app) if row.pledge_id in (sam_at_stop_2, bea)]
        page.reload()  # a reload of the ended link keeps them too (localStorage)
        assert page.evaluate("Object.keys(localStorage).some(k => k.startsWith('rp-driver:'))")

        page.goto(new_url)  # resolved: the new link's page sends them
        page.wait_for_selector("html[data-driver-ready]")
        expect(page.locator("[data-refused]")).to_be_hidden()
        queue_drained(page, ids)
        boarded = boardings(app)
        assert {sam_at_stop_2, bea} <= set(boarded)
        for pledge_id in (sam_at_stop_2, bea):  # the time it happened on the phone: an hour ago
            assert abs(boarded[pledge_id].boarded_at - an_hour_ago) < timedelta(minutes=2)
        sent = [row for row in checkins(app) if row.pledge_id in (sam_at_stop_2, bea)]
        assert [row.result for row in sent] == ["ok", "ok"]
        rider = page.locator(f"[data-rider='{sam_at_stop_2}']")
        expect(rider).to_contain_text("Boarded")
    finally:
        context.close()


def test_a_fast_clock_refusal_is_fixed_on_the_phone_and_a_boarding_undone(browser, world):
    app, ids = world
    sam_at_stop_1 = ids["pledges"][0]
    url = reissue(app, ids)
    context, page = open_with_clock(browser, url, datetime.now(UTC) + timedelta(hours=1))
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        type_code(page, ids["codes"][0])
        kind, words = result(page)
        assert kind == "refused" and "clock" in words
        item = page.locator("[data-refused-item]")
        expect(item).to_have_count(1)
        assert item.get_attribute("data-reason") == "clock"
        assert sam_at_stop_1 not in boardings(app)
        item.get_by_role("button", name="Send with the corrected time").click()
        expect(page.locator("[data-refused]")).to_be_hidden()
        queue_drained(page, ids)
        row = boardings(app)[sam_at_stop_1]
        assert abs(row.boarded_at - datetime.now(UTC)) < timedelta(minutes=2)

        page.reload()
        page.wait_for_selector("html[data-driver-ready]")
        undo = page.locator(f"[data-rider='{sam_at_stop_1}']").get_by_role("button")
        expect(undo).to_have_text("Undo check-in")
        undo.click()
        expect(page.locator("[data-result]")).to_have_attribute("data-result-kind", "undone")
        assert sam_at_stop_1 not in boardings(app)
    finally:
        context.close()


def test_same_names_told_apart_and_times_the_same_before_and_after_the_script(browser, world):
    app, ids = world
    url = reissue(app, ids)
    if ids["pledges"][2] not in boardings(app):  # Ana boards, so a boarded time is shown
        answer = app.test_client().post(
            url.removeprefix(ids["server"]) + "/checkins",
            json={"code": ids["codes"][2], "id": str(uuid.uuid4()), "at": utcnow().isoformat()},
        )
        assert answer.json["result"] == "ok", answer.json
    plain = browser.new_context(java_script_enabled=False, locale="en-US")
    context, page = open_driver(browser, url)
    try:
        before = plain.new_page()
        before.goto(url)
        titles = before.locator(".dr-stop-title").all_inner_texts()
        riders = before.locator(".dr-rider").all_inner_texts()
        after_titles = page.locator(".dr-stop-title").all_inner_texts()
        assert titles == after_titles and len(titles) == 2
        sams = page.locator("[data-rider]", has_text="Sam Lee").all_inner_texts()
        assert len(sams) == 2 and sams[0] != sams[1]
        ends = {code[-4:] for code in ids["codes"][:2]}
        assert all(any(f"…{end}" in text for text in sams) for end in ends)
        # A boarded rider's time: one format, server-rendered and script-rendered.
        badge_before = [text for text in riders if "Boarded" in text]
        badge_after = page.locator(".dr-badge.is-boarded").all_inner_texts()
        assert badge_before and badge_after
        assert badge_before[0].split("Boarded", 1)[1].strip() == badge_after[0].split(" ", 1)[1]
    finally:
        plain.close()
        context.close()
