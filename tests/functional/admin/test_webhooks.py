"""Webhooks in the console: a developer creates an endpoint on a loopback receiver (the secret
shows once), sends a signed test event, sees a real delivery after a pledge with its attempts,
resends a failed one and every failed one since a date, rolls the secret (both signatures),
disables and enables; editors and viewers are refused by the server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.conftest import run_jobs
from tests.functional import webhook_helpers
from tests.functional.webhook_helpers import deliveries, open_trip, pass_time, pledge, verify
from widget_server.extensions import db
from widget_server.models import Partner, WebhookDelivery

receivers = webhook_helpers.receivers
partner_id = webhook_helpers.partner_id


@pytest.fixture
def team(app, partner_id):
    with app.app_context(), db.transaction() as session:
        partner = session.get(Partner, partner_id)
        for role in ("developer", "editor", "viewer"):
            make_admin(session, partner, f"{role}@chiefs.example", role)


def signed_in(app, role):
    client = app.test_client()
    assert sign_in(client, f"{role}@chiefs.example").status_code == 302
    return client


def create(client, url, events=("*",)):
    data = [("csrf_token", csrf(client, "/admin/webhooks")), ("url", url)]
    data += [("events", event) for event in events] + [("description", "Ticketing")]
    return client.post("/admin/webhooks", data=MultiDict(data))


def post(client, path, **fields):
    return client.post(path, data={"csrf_token": csrf(client, "/admin/webhooks"), **fields})


def test_test_event_real_delivery_and_resending_a_failed_one(
    app, client, partner_id, team, receivers
):
    receiver = receivers(answers=[200] + [500] * 8)  # the test passes; the pledge fails at first
    dev = signed_in(app, "developer")
    made = create(dev, receiver.url, ["pledge.created"])
    assert made.status_code == 201
    page = made.get_data(as_text=True)
    secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', page).group(1)
    endpoint_id = re.search(r"/admin/webhooks/(we_[A-Za-z0-9]+)/test", page).group(1)
    assert secret not in dev.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Ticketing" in dev.get("/admin/webhooks").get_data(as_text=True)

    tested = post(dev, f"/admin/webhooks/{endpoint_id}/test")
    assert tested.status_code == 200
    assert "HTTP 200" in tested.get_data(as_text=True)
    assert (
        json.loads(verify(receiver.requests[0], secret) and receiver.requests[0]["body"])["type"]
        == "webhook.test"
    )
    assert deliveries(app, endpoint_id) == []  # a test is not a delivery

    trip = open_trip(app, partner_id)
    pledge(client, trip)
    run_jobs(app)
    for _ in range(8):  # every attempt of the schedule answers 500: the delivery fails
        pass_time(app)
        run_jobs(app)
    (failed,) = deliveries(app, endpoint_id)
    assert failed.status == "failed" and len(failed.attempts) == 8
    log = dev.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "pledge.created" in log and log.count("<td>500</td>") == 8
    assert "ms</td>" in log and "answered" in log  # latency and the response excerpt

    receiver.default = 200
    assert post(dev, f"/admin/webhooks/deliveries/{failed.id}/resend").status_code == 302
    run_jobs(app)
    (resent,) = deliveries(app, endpoint_id)
    assert resent.status == "succeeded" and len(resent.attempts) == 9
    last = receiver.requests[-1]
    assert last["status"] == 200 and last["headers"]["webhook-id"] == failed.message_id
    assert verify(last, secret)["data"]["email"] == "pat@example.com"


def test_resend_every_failed_delivery_since_a_date(app, client, partner_id, team, receivers):
    receiver = receivers(default=500)
    dev = signed_in(app, "developer")
    page = create(dev, receiver.url, ["pledge.created"]).get_data(as_text=True)
    endpoint_id = re.search(r"/admin/webhooks/(we_[A-Za-z0-9]+)/test", page).group(1)
    trip = open_trip(app, partner_id)
    pledge(client, trip, email="a@example.com")
    pledge(client, trip, email="b@example.com")
    run_jobs(app)
    for _ in range(24):  # the second waits behind the first (order per endpoint)
        if all(row.status == "failed" for row in deliveries(app, endpoint_id)):
            break
        pass_time(app)
        run_jobs(app)
    assert [row.status for row in deliveries(app, endpoint_id)] == ["failed", "failed"]

    refused = post(dev, f"/admin/webhooks/{endpoint_id}/resend-failed", since="yesterday")
    assert refused.status_code == 422 and "YYYY-MM-DD" in refused.get_data(as_text=True)
    future = post(dev, f"/admin/webhooks/{endpoint_id}/resend-failed", since="2999-01-01")
    assert future.status_code == 302
    assert "0 failed deliveries" in dev.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)

    # The day is the partner's (its event's zone, America/Chicago): a delivery made at 03:00 UTC
    # on the 14th happened on the 13th there, so "since the 14th" leaves it alone.
    with app.app_context(), db.transaction() as session:
        for row in session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        ):
            row.created_at = datetime(2030, 11, 14, 3, 0, tzinfo=UTC)
    late = post(dev, f"/admin/webhooks/{endpoint_id}/resend-failed", since="2030-11-14")
    assert late.status_code == 302
    assert "0 failed deliveries" in dev.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    receiver.default = 200
    since = "2030-11-13"
    assert post(dev, f"/admin/webhooks/{endpoint_id}/resend-failed", since=since).status_code == 302
    run_jobs(app)
    assert [row.status for row in deliveries(app, endpoint_id)] == ["succeeded", "succeeded"]


def test_roll_disable_enable_and_bad_input(app, client, partner_id, team, receivers):
    receiver = receivers()
    dev = signed_in(app, "developer")
    bad = create(dev, "ftp://example.com/hook", [])
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="w-url-error"' in text
    page = create(dev, receiver.url).get_data(as_text=True)
    old = re.search(r'id="webhook-secret">(whsec_[^<]+)<', page).group(1)
    endpoint_id = re.search(r"/admin/webhooks/(we_[A-Za-z0-9]+)/test", page).group(1)

    rolled = post(dev, f"/admin/webhooks/{endpoint_id}/roll").get_data(as_text=True)
    new = re.search(r'id="webhook-secret">(whsec_[^<]+)<', rolled).group(1)
    assert new != old and "previous secret also signs" in rolled
    post(dev, f"/admin/webhooks/{endpoint_id}/test")
    verify(receiver.requests[-1], old, new)  # both signatures during the overlap

    assert post(dev, f"/admin/webhooks/{endpoint_id}/status", status="disabled").status_code == 302
    shown = dev.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Send a test event" not in shown and "Enable" in shown
    assert post(dev, f"/admin/webhooks/{endpoint_id}/test").status_code == 409
    assert post(dev, f"/admin/webhooks/{endpoint_id}/status", status="gone").status_code == 422
    assert post(dev, f"/admin/webhooks/{endpoint_id}/status", status="enabled").status_code == 302


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_other_roles_are_refused_by_the_server(app, team, role, receivers):
    someone = signed_in(app, role)
    assert someone.get("/admin/webhooks").status_code == 403
    token = csrf(someone, "/admin/")
    answer = someone.post(
        "/admin/webhooks", data={"csrf_token": token, "url": receivers().url, "events": "*"}
    )
    assert answer.status_code == 403
