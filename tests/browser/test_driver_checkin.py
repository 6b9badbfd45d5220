"""The driver's check-in page in real Chromium: boarding by typed code, by a QR picture, by a
tap on the name; refusals with their reasons; offline queues on two phones for the same fan."""

from __future__ import annotations

import pytest
import segno
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import save_docs_screenshot
from tests.conftest import LiveServer, empty_all_tables, make_settings, run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import fan_request
from widget_server import create_app
from widget_server.domain import boarding, checkin
from widget_server.domain.pledges import recording, refunds
from widget_server.extensions import db
from widget_server.models import Boarding, CheckIn, Pledge, Trip

SECRET = "test-secret-key"
QR_SCALE = 8

# Chromium on Linux has no BarcodeDetector. This stand-in gets the real ImageBitmap the page
# made from the chosen file and answers only for a picture the size of the QR the test made,
# so the file input -> createImageBitmap -> detect -> check-in path runs for real.
FAKE_DETECTOR = """
window.__qr = window.__qr || {};
window.BarcodeDetector = class {
  constructor(options) { this.formats = (options && options.formats) || []; }
  static getSupportedFormats() { return Promise.resolve(['qr_code']); }
  async detect(source) {
    const content = window.__qr[source.width + 'x' + source.height];
    return content ? [{ rawValue: content, format: 'qr_code' }] : [];
  }
};
"""


# Named `world` (overriding the conftest one here) so that tests/conftest.py's per-test
# database cleaning leaves this module-scoped trip in place.
@pytest.fixture(scope="module")
def world(browser, database_url, migrated_engine, tmp_path_factory):
    settings = make_settings(database_url, tmp_path_factory.mktemp("driver-instance"))
    app = create_app(settings, TESTING=True)
    server = LiveServer(app)
    settings.public_base_url = server.url
    provider = app.extensions["ridepledge.payments"]
    names = ["Ana Paid", "Bo Paid", "Cy Canceled", "Fay Paid", "Gus Paid"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=20, min_riders=len(names))
        ids = {"trip": trip.id}
        for i, name in enumerate(names):
            request = fan_request(trip, name, stop=i % 2)
            ids[name] = recording.create_pledge(session, provider, partner, trip.id, request).id
    run_jobs(app)
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, ids["trip"])
        partner = trip.event.partner
        late = fan_request(trip, "Dee Unpaid", card="pm_card_authenticationRequired")
        ids["Dee Unpaid"] = recording.create_pledge(session, provider, partner, trip.id, late).id
        refunds.cancel_pledge(session, session.get(Pledge, ids["Cy Canceled"]), actor="test")
        link = checkin.new_driver_link(session, trip, actor="test")
    run_jobs(app)
    with app.app_context():
        ids["codes"] = {
            name: boarding.boarding_code(SECRET, db.session.get(Pledge, ids[name]))
            for name in names
        }
        statuses = {name: db.session.get(Pledge, ids[name]).status for name in ids if " " in name}
        ids["url"] = f"{server.url}/d/{checkin.driver_token(SECRET, link)}"
    assert statuses["Cy Canceled"] == "refunded" and statuses["Dee Unpaid"] == "action_required"
    server.start()
    yield app, ids
    server.stop()
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


def open_driver(browser, url, *, width=390, detector=False):
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US")
    if detector:
        context.add_init_script(FAKE_DETECTOR)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    page.wait_for_selector("html[data-driver-ready]")
    return context, page


def result(page) -> tuple[str, str]:
    box = page.locator("[data-result]")
    box.wait_for(state="visible")
    return box.get_attribute("data-result-kind"), box.inner_text()


def type_code(page, code: str):
    page.fill("[data-code]", code)
    page.click("[data-code-form] button[type=submit]")


def boardings(app) -> dict[str, Boarding]:
    with app.app_context():
        return {row.pledge_id: row for row in db.session.scalars(select(Boarding))}


def test_board_by_code_and_qr_refuse_unpaid_and_canceled(browser, world, tmp_path):
    app, ids = world
    context, page = open_driver(browser, ids["url"], width=360, detector=True)
    try:
        type_code(page, ids["codes"]["Ana Paid"].lower())
        expect(page.locator("[data-result]")).to_contain_text("Ana")
        kind, words = result(page)
        assert kind == "ok" and "OK: let them board" in words and "Ana Paid" in words
        assert ids["Ana Paid"] in boardings(app)

        qr = tmp_path / "bo.png"
        segno.make(ids["codes"]["Bo Paid"], error="m").save(str(qr), scale=QR_SCALE, border=4)
        width, height = _png_size(qr.read_bytes())
        page.evaluate(
            "([key, code]) => { window.__qr[key] = code; }",
            [f"{width}x{height}", ids["codes"]["Bo Paid"]],
        )
        page.set_input_files("[data-scan-file]", str(qr))
        expect(page.locator("[data-result]")).to_contain_text("Bo Paid")
        kind, words = result(page)
        assert kind == "ok" and "Bo Paid" in words
        assert ids["Bo Paid"] in boardings(app)

        # Dee's card needs authentication: on the manifest, but not paid. Tapped: refused.
        page.fill("[data-search]", "dee")
        rider = page.locator(f"[data-rider='{ids['Dee Unpaid']}']")
        assert page.locator("[data-rider]").count() == 1
        rider.get_by_role("button", name="Check in: Dee Unpaid").click()
        expect(page.locator("[data-result]")).to_contain_text("Dee")
        kind, words = result(page)
        assert kind == "not_paid" and "Not paid: do not board" in words
        assert _color(page) != _color_of_kind(page, "ok")

        type_code(page, ids["codes"]["Cy Canceled"])
        expect(page.locator("[data-result]")).to_have_attribute("data-result-kind", "canceled")
        assert "Canceled: do not board" in result(page)[1]
        type_code(page, ids["codes"]["Ana Paid"])
        expect(page.locator("[data-result]")).to_have_attribute(
            "data-result-kind", "already_boarded"
        )
        assert "Already boarded at" in result(page)[1]
        assert ids["Dee Unpaid"] not in boardings(app) and ids["Cy Canceled"] not in boardings(app)
        page.fill("[data-search]", "")
        # The module's trip is shared: other tests of it may have boarded Fay first.
        with app.app_context():
            seats = sum(db.session.get(Pledge, pledge_id).seats for pledge_id in boardings(app))
        assert seats >= 2
        expect(page.locator("[data-total]")).to_contain_text(f"{seats} of 5 seats boarded in all")
        save_docs_screenshot(page, "driver-checkin-360", tmp_path)
        page.set_viewport_size({"width": 1280, "height": 900})
        save_docs_screenshot(page, "driver-checkin-1280", tmp_path)
    finally:
        context.close()


def test_offline_on_two_phones_applied_once_each_and_flagged(browser, world):
    app, ids = world
    code = ids["codes"]["Fay Paid"]
    phones = [open_driver(browser, ids["url"]) for _ in range(2)]
    try:
        for context, page in phones:
            context.set_offline(True)
            expect(page.locator("[data-net]")).to_have_text(
                "Offline: check-ins are saved on this phone"
            )
            type_code(page, code)
            kind, words = result(page)
            assert kind == "ok" and "offline" in words
            assert page.locator("[data-pending]").inner_text() == "1 check-in waiting to be sent"
        assert ids["Fay Paid"] not in boardings(app)  # nothing reached the server yet
        for context, _page in phones:
            context.set_offline(False)
        for _context, page in phones:
            page.wait_for_selector("[data-pending]", state="hidden")
        with app.app_context():
            rows = list(
                db.session.scalars(select(CheckIn).where(CheckIn.pledge_id == ids["Fay Paid"]))
            )
        assert len(rows) == 2 and len({row.client_id for row in rows}) == 2
        assert sorted(row.result for row in rows) == ["already_boarded", "ok"]
        assert len({row.device for row in rows}) == 2
        fay = boardings(app)[ids["Fay Paid"]]
        assert fay.double_boarded is True and fay.second_device != fay.device
        # Each page, reloaded, sends nothing again and shows the flag.
        for _context, page in phones:
            page.reload()
            page.wait_for_selector("html[data-driver-ready]")
            rider = page.locator(f"[data-rider='{ids['Fay Paid']}']")
            assert "Boarded on two devices" in rider.inner_text()
        with app.app_context():
            count = db.session.query(CheckIn).filter_by(pledge_id=ids["Fay Paid"]).count()
        assert count == 2
    finally:
        for context, _page in phones:
            context.close()


def _png_size(data: bytes) -> tuple[int, int]:
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _color(page) -> str:
    return page.eval_on_selector("[data-result]", "e => getComputedStyle(e).backgroundColor")


def _color_of_kind(page, kind: str) -> str:
    return page.evaluate(
        """kind => { const e = document.createElement('div'); e.className = 'dr-result';
        e.dataset.resultKind = kind; document.body.appendChild(e);
        const c = getComputedStyle(e).backgroundColor; e.remove(); return c; }""",
        kind,
    )


def test_a_cold_reload_offline_shows_the_cached_page_and_manifest(browser, world):
    """The service worker (/d/sw.js) keeps the page, its assets and manifest: reloaded with no
    network at all, the page still lists the riders and answers from its own copy."""
    app, ids = world
    context, page = open_driver(browser, ids["url"])
    try:
        # Functions, not expressions: Playwright polls an expression with eval(), which the
        # page's CSP refuses (and only a first check that is already true gets by without it).
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.reload()  # now through the worker, which keeps a copy
        page.wait_for_selector("html[data-driver-ready]")
        page.wait_for_function(
            "() => caches.open('ridepledge-driver-v1').then(c => Promise.all(["
            "c.match(location.origin + location.pathname),"
            "c.match(location.origin + location.pathname + '/manifest')]))"
            ".then(m => m.every(Boolean))"
        )
        online_riders = page.locator("[data-rider]").count()
        assert online_riders == 5  # the live pledges (Cy's is canceled)
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("html[data-driver-ready]")
        expect(page.locator("[data-net]")).to_have_text(
            "Offline: check-ins are saved on this phone"
        )
        assert page.locator("[data-rider]").count() == online_riders  # all there, offline
        page.fill("[data-search]", "gus")
        assert page.locator("[data-rider]").count() == 1
        type_code(page, ids["codes"]["Gus Paid"])
        kind, words = result(page)
        assert kind == "ok" and "offline" in words  # from the cached manifest, queued
        assert page.locator("[data-pending]").inner_text() == "1 check-in waiting to be sent"
        assert ids["Gus Paid"] not in boardings(app)
    finally:
        context.close()  # the queued check-in is never sent: the other tests' counts stay


def test_the_service_worker_is_served_for_the_whole_driver_scope(world):
    app, _ids = world
    answer = app.test_client().get("/d/sw.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert b"caches.open" in answer.data and b"request.method !== 'GET'" in answer.data
