"""axe-core finds nothing to fix on any widget page, in English, Spanish and French, in both
demo themes (WCAG 2.0/2.1/2.2 A and AA rules plus axe's best practices)."""

from __future__ import annotations

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe

from tests.browser.helpers import api_pledge
from tests.conftest import run_jobs
from tests.factories import make_trip
from widget_server.extensions import db
from widget_server.models import Event

LOCALES = ("en", "es", "fr")


@pytest.fixture(scope="module")
def pledges(world):
    """A manage link for a pledged fan and one for a fan whose card needs action."""
    with world.app.app_context(), db.transaction() as session:
        event = session.get(Event, world.ids["event"])
        tipping = make_trip(session, event.partner, event, stops=2, capacity=10, min_riders=1)
        tipping_id, tipping_stop = tipping.id, tipping.stops[0].id
    trip = requests.get(f"{world.widget}/w/demo/api/trips/{world.ids['open']}", timeout=10).json()
    links = {
        "pledged": api_pledge(world, "demo", world.ids["open"], trip["stops"][0]["id"]),
        "action_required": api_pledge(
            world, "demo", tipping_id, tipping_stop, payment_method="pm_card_authenticationRequired"
        ),
    }
    sold_out = requests.get(
        f"{world.widget}/w/demo/api/trips/{world.ids['sold_out']}", timeout=10
    ).json()
    joined = requests.post(
        f"{world.widget}/w/demo/api/trips/{world.ids['sold_out']}/waitlist",
        json={
            "stop_id": sold_out["stops"][0]["id"],
            "seats": 2,
            "name": "Axe Waiting",
            "email": "axe-waiting@example.com",
        },
        timeout=10,
    )
    assert joined.status_code == 201, joined.text
    links["waitlist"] = joined.json()["url"].rsplit("/", 1)[1]
    run_jobs(world.app)
    return links


def widget_pages(world, pledges) -> list[tuple[str, str]]:
    ids = world.ids
    token = pledges["pledged"]
    return [
        ("events", "/w/demo/"),
        ("event", f"/w/demo/events/{ids['event']}"),
        ("trip", f"/w/demo/trips/{ids['open']}"),
        ("trip sold out", f"/w/demo/trips/{ids['sold_out']}"),
        ("trip failed", f"/w/demo/trips/{ids['failed']}"),
        ("trip canceled", f"/w/demo/trips/{ids['canceled']}"),
        ("pledge form", f"/w/demo/trips/{ids['open']}/pledge"),
        ("confirmation", f"/w/demo/pledged/{token}"),
        ("manage", f"/w/demo/manage/{token}"),
        ("action required", f"/w/demo/manage/{pledges['action_required']}"),
        ("withdraw question", f"/w/demo/manage/{token}/cancel"),
        ("seats question", f"/w/demo/manage/{token}/seats?seats=2"),
        ("seats refused", f"/w/demo/manage/{token}/seats?seats=abc"),
        ("waitlist", f"/w/demo/waitlist/{pledges['waitlist']}"),
        ("leave question", f"/w/demo/waitlist/{pledges['waitlist']}/leave"),
        ("request", f"/w/demo/events/{ids['event']}/request"),
        ("request done", f"/w/demo/events/{ids['event']}/request?done=1&origin=Peoria&count=3"),
        ("not found", "/w/demo/trips/trp_nothing"),
        ("away event", f"/w/demo-away/events/{ids['away_event']}"),
        ("away trip", f"/w/demo-away/trips/{ids['away_open']}"),
        ("away pledge form", f"/w/demo-away/trips/{ids['away_open']}/pledge"),
    ]


def violations(axe: Axe, page) -> list[str]:
    results = axe.run(page)
    return [
        f"{rule['id']} ({rule['impact']}): {node['target']} {node['failureSummary']}"
        for rule in results.response["violations"]
        for node in rule["nodes"]
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_axe_finds_no_violations_on_any_widget_page(world, pledges, context, locale):
    page = context.new_page()
    axe = Axe()
    found = {}
    for name, path in widget_pages(world, pledges):
        page.goto(f"{world.widget}{path}{'&' if '?' in path else '?'}locale={locale}")
        page.wait_for_selector("h1")
        assert page.evaluate("document.documentElement.lang") == locale
        if problems := violations(axe, page):
            found[name] = problems
        if name == "pledge form":  # and with its error messages showing
            page.click("button[data-submit]")
            page.wait_for_selector("[data-form-problem]:not([hidden])")
            if problems := violations(axe, page):
                found["pledge form with errors"] = problems
    assert found == {}
    # The check can fail: an input without a label is caught on the same page.
    page.evaluate("document.querySelector('main').append(document.createElement('input'))")
    assert any(problem.startswith("label ") for problem in violations(axe, page))


@pytest.mark.parametrize("locale", LOCALES)
def test_the_seat_change_fits_a_phone(world, pledges, context, locale):
    """The manage page's "Change seats" form, its question and its refusal at 360 px: nothing
    scrolls sideways, and axe finds nothing there either."""
    token = pledges["pledged"]
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 800})
    axe = Axe()
    found = {}
    manage = f"{world.widget}/w/demo/manage/{token}"
    shown = {  # what each page shows: the form, the new price, the form with its error
        "": "#change-seats",
        "/seats?seats=2": "[data-new-price]",
        "/seats?seats=abc": "#change-seats[aria-invalid=true]",
    }
    for path, shows in shown.items():
        page.goto(f"{manage}{path}{'&' if '?' in path else '?'}locale={locale}")
        page.wait_for_selector(shows)
        if page.evaluate("document.documentElement.scrollWidth") > 360:
            found[f"{path} at 360 px"] = ["wider than the screen"]
        if problems := violations(axe, page):
            found[path] = problems
    assert found == {}


def test_axe_finds_no_violations_on_the_api_docs(world, context):
    """/docs (Swagger UI, restyled by templates/api_docs.html) passes axe too, with its
    operations listed, one of them opened, and its "Try it out" form showing."""
    page = context.new_page()
    page.set_default_timeout(30_000)  # Swagger UI renders the whole document; CI is slow
    page.goto(f"{world.widget}/docs")
    page.wait_for_selector(".opblock-tag")
    axe = Axe()
    found = {"closed": violations(axe, page)}
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".opblock-body")
    found["opened"] = violations(axe, page)
    page.locator(".try-out__btn").first.click()
    page.wait_for_selector(".btn.execute")
    found["trying it out"] = violations(axe, page)
    assert found == {"closed": [], "opened": [], "trying it out": []}


def test_axe_finds_no_violations_on_the_demo_landing_page_and_outbox(world, pledges, context):
    """In demo mode: the landing page linking every face, the sent emails and one email, at
    1280 px and without overflowing at 360 px."""
    settings = world.app.config["SETTINGS"]
    run_jobs(world.app)  # the pledges' emails are in the outbox
    emails = sorted((settings.instance_path / "outbox").glob("*.eml"))
    assert emails
    page = context.new_page()
    axe = Axe()
    settings.demo_mode = True
    try:
        found = {}
        for path in ("/", "/demo/outbox", f"/demo/outbox/{emails[0].stem}"):
            page.goto(world.widget + path)
            page.wait_for_selector("h1")
            if problems := violations(axe, page):
                found[path] = problems
            page.set_viewport_size({"width": 360, "height": 800})  # and nothing overflows
            if page.evaluate("document.documentElement.scrollWidth") > 360:
                found[f"{path} at 360 px"] = ["wider than the screen"]
            page.set_viewport_size({"width": 1280, "height": 900})
    finally:
        settings.demo_mode = False
    assert found == {}
