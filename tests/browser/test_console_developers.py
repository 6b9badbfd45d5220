"""Developer pages in real Chromium. Webhooks: a developer creates an endpoint on a loopback
receiver, copies the secret shown once, sends a test event, sees the real delivery after a
pledge with its failed attempt, resends it, and axe finds nothing on either page at desktop and
phone width. API clients: a developer rolls a secret with a 24 h overlap and both secrets get
tokens. Screenshots for docs/admin.md."""

from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.conftest import save_docs_screenshot
from tests.browser.helpers import api_pledge
from tests.browser.test_console import violations
from tests.conftest import run_jobs
from tests.functional.webhook_helpers import Receiver, verify
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db
from widget_server.models import Partner, Stop


@pytest.fixture
def receiver():
    made = Receiver(answers=[200, 500])  # the test event passes, the first delivery fails
    yield made
    made.stop()


@pytest.fixture(scope="module")
def developer(world):
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        create_admin(
            session,
            partner,
            email="dev@demo-webhooks.example",
            role="developer",
            password=PASSWORD,
            actor="test",
        )
    return "dev@demo-webhooks.example"


def test_a_developer_tests_an_endpoint_and_resends_a_failed_delivery(
    world, developer, context, receiver, tmp_path
):
    page = context.new_page()
    page.goto(f"{world.widget}/admin/login")
    page.fill("#email", developer)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")
    page.click("nav >> text=Webhooks")
    page.fill("#w-url", receiver.url)
    page.fill("#w-description", "Our ticketing system")
    page.check("text=pledge.created")
    page.click("text=Create the endpoint")
    secret = page.locator("#webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    page.click("text=Copy the secret")
    page.wait_for_selector("[data-copy-status]:has-text('Copied')")

    page.click("text=Send a test event")
    page.wait_for_selector("#test-result")
    assert "HTTP 200" in page.locator("#test-result").inner_text()
    assert json.loads(receiver.requests[0]["body"])["type"] == "webhook.test"
    endpoint_url = page.url.rsplit("/", 1)[0]  # the page the test was posted from
    verify(receiver.requests[0], secret)

    with world.app.app_context():
        stop_id = db.session.scalar(select(Stop.id).where(Stop.trip_id == world.ids["open"]))
    api_pledge(world, "demo", world.ids["open"], stop_id, email="hook-fan@example.com")
    run_jobs(world.app)  # the first attempt answers 500
    page.goto(endpoint_url)
    delivery = page.locator("section.delivery").first
    assert "pledge.created" in delivery.inner_text() and "500" in delivery.inner_text()
    save_docs_screenshot(page, "admin-webhook", tmp_path)
    found = {"endpoint @1280": violations(page)}
    delivery.locator("text=Resend this delivery").click()
    page.wait_for_selector("text=queued to be sent again")
    run_jobs(world.app)
    page.goto(endpoint_url)
    assert "succeeded" in page.locator("section.delivery").first.inner_text()
    assert verify(receiver.requests[-1], secret)["data"]["email"] == "hook-fan@example.com"

    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("list", f"{world.widget}/admin/webhooks"), ("endpoint", endpoint_url)):
            page.goto(path)
            page.wait_for_selector("h1")
            found[f"{name} @{width}"] = violations(page)
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not overflow, f"{name} scrolls sideways at {width} px"
    save_docs_screenshot(page, "admin-webhook-phone", tmp_path)
    assert {name: problems for name, problems in found.items() if problems} == {}


def token(world, client_id: str, secret: str) -> int:
    answer = requests.post(
        f"{world.widget}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    return answer.status_code


def test_a_developer_rolls_a_client_secret_and_the_old_one_works_during_the_overlap(
    world, developer, context
):
    page = context.new_page()
    page.goto(f"{world.widget}/admin/login")
    page.fill("#email", developer)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")
    page.click("nav >> text=API clients")
    page.fill("#c-name", "Box office")
    page.check("text=events:read")
    page.click("text=Create the client")
    client_id = page.locator("#client-id").inner_text()
    old = page.locator("#client-secret").inner_text()
    assert token(world, client_id, old) == 200

    row = page.locator("tr", has_text="Box office")
    row.locator("select").select_option("24h")
    row.locator("text=Roll the secret of Box office").click()
    page.wait_for_selector("text=keeps working until")
    new = page.locator("#client-secret").inner_text()
    assert new != old
    assert token(world, client_id, new) == 200
    assert token(world, client_id, old) == 200  # the overlap lasts 24 hours

    found = {}
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{world.widget}/admin/clients")
        page.wait_for_selector("h1")
        found[f"clients @{width}"] = violations(page)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"clients scrolls sideways at {width} px"
    assert {name: problems for name, problems in found.items() if problems} == {}
