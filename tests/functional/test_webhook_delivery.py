"""Partner webhooks end to end: real domain actions emit events, the job queue delivers them
over real HTTP to a receiver on 127.0.0.1, and the Standard Webhooks reference library verifies
every request. Time moves forward by moving `next_attempt_at` back, or by passing `now`.

This module: delivery, retries, ordering, rotation and routing of events."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import WebhookVerificationError

from tests.conftest import run_jobs
from tests.factories import make_partner
from tests.functional import webhook_helpers
from tests.functional.webhook_helpers import (
    add_endpoint,
    deliver_everything,
    deliveries,
    open_trip,
    pass_time,
    pledge,
    verify,
)
from widget_server.domain.errors import Conflict
from widget_server.extensions import db
from widget_server.fan.links import manage_token
from widget_server.jobs import tasks
from widget_server.models import (
    AuditLogEntry,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from widget_server.models.types import utcnow
from widget_server.webhooks import delivery, endpoints

# The fixtures of webhook_helpers, made visible to this module's tests.
receivers = webhook_helpers.receivers
partner_id = webhook_helpers.partner_id


# --- delivery ----------------------------------------------------------------------------------


def test_a_receiver_failing_twice_gets_every_event_once_in_order(
    app, client, partner_id, receivers
):
    receiver = receivers(answers=[500, 500])
    endpoint_id, secret = add_endpoint(app, partner_id, receiver.url)
    trip = open_trip(app, partner_id)
    for index in range(3):  # the third pledge confirms the trip
        pledge(client, trip, email=f"fan{index}@example.com")

    deliver_everything(app)  # also runs the charge jobs: three pledge.paid

    rows = deliveries(app, endpoint_id)
    in_creation_order = [row.message_id for row in rows]
    assert [row.message.type for row in rows] == [
        "trip.opened",
        "pledge.created",
        "pledge.created",
        "pledge.created",
        "trip.confirmed",
        "pledge.paid",
        "pledge.paid",
        "pledge.paid",
    ]
    assert receiver.ids(200) == in_creation_order  # each once, in order
    assert receiver.ids(500) == [in_creation_order[0]] * 2  # retried with the same webhook-id
    for request in receiver.requests:
        body = verify(request, secret)
        assert request["headers"]["content-type"] == "application/json"
        assert request["headers"]["user-agent"] == "RidePledge-Webhooks/1"
        assert request["path"] == "/hooks/ridepledge"
        assert abs(int(request["headers"]["webhook-timestamp"]) - time.time()) < 60
        message = next(row.message for row in rows if row.message_id == body_id(request))
        assert body == message.payload
        assert request["body"] == delivery.encode_body(message.payload)
    first = rows[0]
    assert (first.status, first.attempt_count, first.last_status_code) == ("succeeded", 3, 200)
    assert [attempt.status_code for attempt in first.attempts] == [500, 500, 200]
    assert all(attempt.latency_ms >= 0 for attempt in first.attempts)
    assert first.attempts[0].response_excerpt == '{"answered": 500}'
    assert all(row.status == "succeeded" and row.attempt_count == 1 for row in rows[1:])
    confirmed = json.loads(receiver.requests[receiver.ids().index(in_creation_order[4])]["body"])
    assert confirmed["data"]["status"] == "confirmed" and confirmed["data"]["id"] == trip["id"]
    created = json.loads(receiver.requests[receiver.ids().index(in_creation_order[1])]["body"])
    assert created["data"]["object"] == "pledge" and created["data"]["status"] == "pledged"


def body_id(request: dict) -> str:
    return request["headers"]["webhook-id"]


def test_later_messages_wait_while_an_older_one_is_retrying(app, client, partner_id, receivers):
    receiver = receivers(answers=[503])
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url, events=["pledge.created"])
    trip = open_trip(app, partner_id)
    pledge(client, trip, email="a@example.com")
    pledge(client, trip, email="b@example.com")

    run_jobs(app)
    first, second = deliveries(app, endpoint_id)
    assert (first.status, first.attempt_count) == ("pending", 1)
    assert (second.status, second.attempt_count) == ("pending", 0)  # held back, not sent
    assert receiver.ids() == [first.message_id]
    with app.app_context():
        assert tasks.deliver_webhook(second.id) is None  # still behind the first
        assert tasks.sweep()["webhooks"] == 0  # the first is waiting for its slot
    assert len(receiver.requests) == 1

    pass_time(app)
    run_jobs(app)  # the first succeeds and hands over to the second
    assert receiver.ids(200) == [first.message_id, second.message_id]


def test_a_delivery_is_claimed_once_and_running_it_twice_sends_nothing_new(
    app, client, partner_id, receivers
):
    receiver = receivers()
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    trip = open_trip(app, partner_id)
    (row,) = deliveries(app, endpoint_id)
    assert trip["id"] in json.dumps(row.message.payload)
    key = app.config["SETTINGS"].secret_key
    with app.app_context(), db.transaction() as session:
        claim = delivery.claim(session, row.id, app_secret_key=key, now=utcnow())
        assert claim is not None and claim.attempt == 1
    with app.app_context(), db.transaction() as session:
        assert delivery.claim(session, row.id, app_secret_key=key, now=utcnow()) is None
    with app.app_context():
        assert tasks.deliver_webhook(row.id) is None  # the claim is held: nothing sent
    assert receiver.requests == []
    with app.app_context():  # the holder died; after the lease the attempt is due again
        later = utcnow() + delivery.LEASE + timedelta(seconds=1)
        assert tasks.deliver_webhook(row.id, later) == "succeeded"
        assert tasks.deliver_webhook(row.id, later) is None
    run_jobs(app)
    assert len(receiver.requests) == 1


def test_concurrent_workers_send_a_delivery_once(app, partner_id, receivers):
    receiver = receivers()
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    open_trip(app, partner_id)
    (row,) = deliveries(app, endpoint_id)
    start = threading.Barrier(8)

    def worker(_):
        with app.app_context():
            start.wait()
            return tasks.deliver_webhook(row.id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    assert sorted(results, key=str) == [None] * 7 + ["succeeded"]
    assert len(receiver.requests) == 1
    (row,) = deliveries(app, endpoint_id)
    assert row.attempt_count == 1 and len(row.attempts) == 1


def test_410_disables_the_endpoint_and_reenabling_resumes_in_order(
    app, client, partner_id, receivers
):
    receiver = receivers(answers=[410])
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    trip = open_trip(app, partner_id)
    pledge(client, trip)
    run_jobs(app)

    opened, created = deliveries(app, endpoint_id)
    assert (opened.status, opened.last_status_code) == ("failed", 410)
    assert created.status == "pending" and created.attempt_count == 0
    assert receiver.ids() == [opened.message_id]
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.status == "disabled"
        assert endpoint.disabled_reason == "the endpoint answered 410 Gone"
        audit = db.session.scalars(
            select(AuditLogEntry.action).where(AuditLogEntry.object_id == endpoint_id)
        ).all()
        assert "webhook_endpoint.disabled" in audit
        assert tasks.sweep()["webhooks"] == 0
    pledge(client, trip, email="later@example.com")  # not even recorded for a disabled endpoint
    run_jobs(app)
    assert len(deliveries(app, endpoint_id)) == 2 and len(receiver.requests) == 1

    with app.app_context(), db.transaction() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        endpoints.update_endpoint(
            session,
            endpoint,
            {"status": "enabled"},
            settings=app.config["SETTINGS"],
            actor="test",
        )
        assert endpoint.disabled_reason is None
    run_jobs(app)
    assert receiver.ids(200) == [created.message_id]


def test_timeouts_are_retried_on_the_schedule(app, partner_id, receivers, monkeypatch):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 0.5)
    receiver = receivers(stall_first=10.0)  # far beyond the timeout, however loaded the machine
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    open_trip(app, partner_id)
    run_jobs(app)
    after = utcnow()

    (row,) = deliveries(app, endpoint_id)
    (attempt,) = row.attempts
    assert (attempt.status_code, attempt.error) == (None, "timed out after 0.5 s")
    assert 400 <= attempt.latency_ms < 10_000  # it gave up; the receiver had not answered
    assert (row.status, row.attempt_count, row.last_status_code) == ("pending", 1, None)
    # The next try is 5 s (+ up to 10% jitter) after the attempt ended: bounded by when the
    # attempt ended and when the jobs were done, however long a loaded machine took for either.
    ended = attempt.attempted_at + timedelta(milliseconds=attempt.latency_ms)
    assert ended + timedelta(seconds=5) - timedelta(milliseconds=50) <= row.next_attempt_at
    assert row.next_attempt_at <= after + timedelta(seconds=5.5)

    pass_time(app)
    run_jobs(app)
    (row,) = deliveries(app, endpoint_id)
    assert row.status == "succeeded" and [a.status_code for a in row.attempts] == [None, 200]
    assert receiver.ids() == [row.message_id] * 2


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_follows_the_whole_schedule_then_fails(app, partner_id):
    endpoint_id, _ = add_endpoint(app, partner_id, f"http://127.0.0.1:{closed_port()}/hook")
    open_trip(app, partner_id)
    (row,) = deliveries(app, endpoint_id)
    now = row.next_attempt_at
    waits = []
    with app.app_context():
        for attempt in range(1, 9):
            status = tasks.deliver_webhook(row.id, now)
            current = db.session.get(WebhookDelivery, row.id, populate_existing=True)
            assert current.attempt_count == attempt
            if attempt < 8:
                assert status == "pending"
                waits.append(current.next_attempt_at - now)
                assert (
                    tasks.deliver_webhook(row.id, current.next_attempt_at - timedelta(seconds=1))
                    is None
                )
                now = current.next_attempt_at
            else:
                assert status == "failed" and current.next_attempt_at is None
    schedule = [5, 300, 1800, 7200, 18000, 36000, 36000]
    for wait, base in zip(waits, schedule, strict=True):
        assert timedelta(seconds=base) <= wait <= timedelta(seconds=base * 1.1)
    (row,) = deliveries(app, endpoint_id)
    assert len(row.attempts) == 8
    assert all("Connection refused" in attempt.error for attempt in row.attempts)
    assert all(attempt.status_code is None for attempt in row.attempts)


def test_manual_retry_of_a_failed_delivery(app, partner_id, receivers):
    receiver = receivers(answers=[410])
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    open_trip(app, partner_id)
    run_jobs(app)
    (row,) = deliveries(app, endpoint_id)
    assert row.status == "failed"
    settings = app.config["SETTINGS"]
    with app.app_context(), db.transaction() as session:
        failed = session.get(WebhookDelivery, row.id)
        with pytest.raises(Conflict, match="disabled"):
            endpoints.retry_delivery(session, failed, actor="test")
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        endpoints.update_endpoint(
            session, endpoint, {"status": "enabled"}, settings=settings, actor="t"
        )
        endpoints.retry_delivery(session, failed, actor="test")
        assert failed.status == "pending"
    run_jobs(app)
    (row,) = deliveries(app, endpoint_id)
    assert (row.status, row.attempt_count) == ("succeeded", 2)
    assert receiver.ids() == [row.message_id] * 2
    with app.app_context(), db.transaction() as session, pytest.raises(Conflict):
        endpoints.retry_delivery(session, session.get(WebhookDelivery, row.id), actor="test")


def test_rotation_signs_with_both_secrets_for_24_hours(app, partner_id, receivers):
    receiver = receivers()
    endpoint_id, old_secret = add_endpoint(app, partner_id, receiver.url)
    with app.app_context(), db.transaction() as session:
        _, new_secret = endpoints.rotate_secret(
            session,
            session.get(WebhookEndpoint, endpoint_id),
            settings=app.config["SETTINGS"],
            actor="test",
        )
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    open_trip(app, partner_id)
    run_jobs(app)
    (during,) = receiver.requests
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    verify(during, old_secret, new_secret)

    open_trip(app, partner_id)
    latest = deliveries(app, endpoint_id)[-1]
    with app.app_context():  # a day and a bit later, only the new secret signs
        assert tasks.deliver_webhook(latest.id, utcnow() + timedelta(hours=24, minutes=1))
    after = receiver.requests[-1]
    assert len(after["headers"]["webhook-signature"].split(" ")) == 1
    verify(after, new_secret)
    with pytest.raises(WebhookVerificationError):
        verify(after, old_secret)


def test_secrets_are_stored_encrypted(app, partner_id, receivers):
    endpoint_id, secret = add_endpoint(app, partner_id, receivers().url)
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert secret.removeprefix("whsec_") not in endpoint.secret_encrypted


def test_events_reach_only_subscribed_endpoints_of_the_same_partner(
    app, client, partner_id, receivers
):
    everything, confirmations, other_partner = receivers(), receivers(), receivers()
    add_endpoint(app, partner_id, everything.url)
    add_endpoint(app, partner_id, confirmations.url, events=["trip.confirmed", "trip.failed"])
    with app.app_context(), db.transaction() as session:
        other_id = make_partner(session, "kc-royals").id
    add_endpoint(app, other_id, other_partner.url)
    trip = open_trip(app, partner_id, min_riders=2)
    pledged = pledge(client, trip, email="a@example.com")
    with app.app_context():
        token = manage_token(pledged["id"])
    response = client.post(f"/w/{trip['slug']}/api/manage/{token}/cancel", json={})
    assert response.status_code == 200
    pledge(client, trip, email="b@example.com", seats=2)
    deliver_everything(app)

    assert everything.types() == [
        "trip.opened",
        "pledge.created",
        "pledge.canceled",
        "pledge.created",
        "trip.confirmed",
        "pledge.paid",
    ]
    assert confirmations.types() == ["trip.confirmed"]
    assert other_partner.requests == []
    with app.app_context():
        messages = db.session.scalars(select(WebhookMessage.partner_id)).all()
        assert set(messages) == {partner_id}


def test_the_address_is_checked_again_when_sending(app, partner_id, receivers):
    receiver = receivers()
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    open_trip(app, partner_id)
    app.config["SETTINGS"].webhooks_allow_loopback = False  # as if the URL now went elsewhere
    run_jobs(app)
    (row,) = deliveries(app, endpoint_id)
    assert receiver.requests == []
    assert row.status == "pending" and row.attempts[0].error == "not sent: the URL must use https"
