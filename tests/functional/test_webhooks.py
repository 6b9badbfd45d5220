"""Partner webhooks end to end: real domain actions emit events, the job queue delivers them
over real HTTP to a receiver on 127.0.0.1, and the Standard Webhooks reference library verifies
every request. Time moves forward by moving `next_attempt_at` back, or by passing `now`."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import (
    AuditLogEntry,
    Partner,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from widget_server.models.types import utcnow
from widget_server.webhooks import delivery, endpoints
from widget_server.widget.links import manage_token


class Receiver:
    """A partner's webhook server: answers from a script (status codes, then `default`), can
    stall, and records every request it got with the status it answered."""

    def __init__(self, answers=(), default=200, stall_first: float = 0.0, body=None):
        self.body = body
        self.answers = list(answers)
        self.default = default
        self.stall_first = stall_first
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                    stall = receiver.stall_first if not receiver.requests else 0.0
                    receiver.requests.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "status": status,
                            "path": self.path,
                        }
                    )
                if stall:
                    time.sleep(stall)
                answer = receiver.body or json.dumps({"answered": status}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up waiting (timeout tests)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/ridepledge"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def ids(self, status: int | None = None) -> list[str]:
        return [
            request["headers"]["webhook-id"]
            for request in self.requests
            if status is None or request["status"] == status
        ]

    def types(self) -> list[str]:
        return [json.loads(request["body"])["type"] for request in self.requests]


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def partner_id(app):
    with app.app_context(), db.transaction() as session:
        return make_partner(session, "kc-chiefs").id


def add_endpoint(app, partner_id, url, events=("*",)) -> tuple[str, str]:
    """An endpoint through the domain function; returns (id, plaintext secret)."""
    with app.app_context(), db.transaction() as session:
        endpoint, secret = endpoints.create_endpoint(
            session,
            session.get(Partner, partner_id),
            url=url,
            events=list(events),
            description="tests",
            settings=app.config["SETTINGS"],
            actor="test",
        )
        return endpoint.id, secret


def open_trip(app, partner_id, **fields) -> dict:
    with app.app_context(), db.transaction() as session:
        partner = session.get(Partner, partner_id)
        trip = make_trip(session, partner, **{"capacity": 6, "min_riders": 3, **fields})
        return {"id": trip.id, "stop": trip.stops[0].id, "slug": partner.slug}


def pledge(client, trip, email="pat@example.com", seats=1):
    response = client.post(
        f"/w/{trip['slug']}/api/trips/{trip['id']}/pledges",
        json={
            "stop_id": trip["stop"],
            "seats": seats,
            "name": "Pat Fan",
            "email": email,
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["pledge"]


def deliveries(app, endpoint_id=None) -> list[WebhookDelivery]:
    with app.app_context():
        query = select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        if endpoint_id:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        rows = list(db.session.scalars(query))
        for row in rows:
            _ = row.attempts, row.message  # loaded while the session is open
        return rows


def pass_time(app) -> None:
    """Every waiting delivery becomes due now (as if its wait were over); the sweep finds it."""
    with app.app_context(), db.transaction() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    with app.app_context():
        tasks.sweep()


def deliver_everything(app, rounds: int = 12) -> None:
    """Run jobs, let time pass, repeat, until no delivery is pending."""
    for _ in range(rounds):
        run_jobs(app)
        if not [row for row in deliveries(app) if row.status == "pending"]:
            return
        pass_time(app)
    raise AssertionError("deliveries still pending after every retry")


def verify(request: dict, *secrets: str) -> dict:
    """The body, verified with every given secret by the reference library."""
    payloads = [Webhook(secret).verify(request["body"], request["headers"]) for secret in secrets]
    return payloads[0]


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
    receiver = receivers(stall_first=2.0)
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    open_trip(app, partner_id)
    before = utcnow()
    run_jobs(app)

    (row,) = deliveries(app, endpoint_id)
    (attempt,) = row.attempts
    assert (attempt.status_code, attempt.error) == (None, "timed out after 0.5 s")
    assert 400 <= attempt.latency_ms < 2000
    assert (row.status, row.attempt_count, row.last_status_code) == ("pending", 1, None)
    wait = row.next_attempt_at - before
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=5.5 + 3)

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
    response = client.post(f"/w/{trip['slug']}/api/manage/{token}/cancel")
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


# --- managing endpoints ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "loopback", "message"),
    [
        ("http://hooks.example.com/rp", True, "must use https"),
        ("https://10.0.0.1/rp", False, "a private address (10.0.0.1)"),
        ("https://169.254.169.254/latest", False, "a link-local address (169.254.169.254)"),
        ("https://192.168.1.1/", False, "a private address (192.168.1.1)"),
        ("https://[::1]/rp", False, "a loopback address (::1)"),
        ("https://localhost/rp", False, "a loopback address"),
        ("http://127.0.0.1:8000/rp", False, "must use https"),
        ("https://admin:secret@127.0.0.1/", True, "must not contain a user name or password"),
    ],
)
def test_unsafe_urls_are_refused_on_url(app, partner_id, monkeypatch, url, loopback, message):
    monkeypatch.setattr(app.config["SETTINGS"], "webhooks_allow_loopback", loopback)
    if "example.com" in url:  # public DNS without the network
        public = [ipaddress.ip_address("93.184.215.14")]
        monkeypatch.setattr(endpoints, "resolve_host", lambda host, port: public)
    with pytest.raises(ValidationFailed) as refused:
        add_endpoint(app, partner_id, url)
    assert list(refused.value.errors) == ["url"]
    assert message in refused.value.errors["url"][0]
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_endpoint_validation_and_audit(app, partner_id, receivers):
    url = receivers().url
    with pytest.raises(ValidationFailed) as unknown:
        add_endpoint(app, partner_id, url, events=["pledge.created", "pledge.exploded"])
    assert "pledge.exploded" in unknown.value.errors["events"][0]
    with pytest.raises(ValidationFailed) as empty:
        add_endpoint(app, partner_id, url, events=[])
    assert list(empty.value.errors) == ["events"]
    endpoint_id, _ = add_endpoint(app, partner_id, url, events=["trip.opened", "trip.opened"])
    settings = app.config["SETTINGS"]
    with app.app_context(), db.transaction() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.events == ["trip.opened"]
        endpoints.update_endpoint(
            session, endpoint, {"events": ["*"], "description": "all"}, settings=settings, actor="t"
        )
        endpoints.update_endpoint(
            session, endpoint, {"status": "disabled"}, settings=settings, actor="t"
        )
        assert endpoint.disabled_reason == "disabled through the API"
        endpoints.rotate_secret(session, endpoint, settings=settings, actor="t")
        endpoints.delete_endpoint(session, endpoint, actor="t")
    with app.app_context():
        actions = db.session.scalars(
            select(AuditLogEntry.action)
            .where(AuditLogEntry.object_id == endpoint_id)
            .order_by(AuditLogEntry.id)
        ).all()
        assert db.session.get(WebhookEndpoint, endpoint_id) is None
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.updated",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.deleted",
    ]


def test_deleting_an_endpoint_removes_its_deliveries_and_stops_sending(app, partner_id, receivers):
    receiver = receivers()
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    open_trip(app, partner_id)
    with app.app_context(), db.transaction() as session:
        endpoints.delete_endpoint(session, session.get(WebhookEndpoint, endpoint_id), actor="t")
    run_jobs(app)
    assert receiver.requests == []
    with app.app_context():
        assert db.session.scalars(select(WebhookDelivery)).all() == []
        assert db.session.scalars(select(WebhookAttempt)).all() == []


# --- the REST API ------------------------------------------------------------------------------


@pytest.fixture
def api(app, client, partner_id):
    from tests.api_helpers import ApiSession, issue_token

    return ApiSession(client, issue_token(app, partner_id, scope="webhooks:manage"))


def test_endpoints_through_the_api(app, api, receivers):
    receiver = receivers()
    created = api.post(
        "/v1/webhook_endpoints",
        json={"url": receiver.url, "events": ["pledge.created"], "description": "CRM"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    endpoint = created.json
    assert created.headers["Location"].endswith(f"/v1/webhook_endpoints/{endpoint['id']}")
    assert endpoint["secret"].startswith("whsec_")
    assert {key: endpoint[key] for key in ("object", "url", "events", "status")} == {
        "object": "webhook_endpoint",
        "url": receiver.url,
        "events": ["pledge.created"],
        "status": "enabled",
    }
    assert endpoint["description"] == "CRM" and endpoint["disabled_reason"] is None
    assert endpoint["created_at"].endswith("Z") and endpoint["updated_at"].endswith("Z")
    path = f"/v1/webhook_endpoints/{endpoint['id']}"

    shown = api.get(path)
    assert shown.status_code == 200 and "secret" not in shown.json
    assert shown.json == {key: value for key, value in endpoint.items() if key != "secret"}
    listed = api.get("/v1/webhook_endpoints").json
    assert listed["object"] == "list" and [e["id"] for e in listed["data"]] == [endpoint["id"]]
    assert "secret" not in listed["data"][0]

    patched = api.patch(path, json={"events": ["*"], "status": "disabled"})
    assert patched.status_code == 200
    assert patched.json["events"] == ["*"] and patched.json["status"] == "disabled"
    assert patched.json["disabled_reason"] == "disabled through the API"
    enabled = api.patch(path, json={"status": "enabled"}).json
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None

    rotated = api.post(f"{path}/rotate_secret")
    assert rotated.status_code == 200
    assert rotated.json["secret"].startswith("whsec_")
    assert rotated.json["secret"] != endpoint["secret"]

    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.get("/v1/webhook_endpoints").json["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://10.0.0.1/hook", "events": ["*"]}, "url"),
        ({"url": "https://169.254.169.254/", "events": ["*"]}, "url"),
        ({"url": "ftp://127.0.0.1/hook", "events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/hook", "events": ["pledge.teleported"]}, "events"),
        ({"url": "http://127.0.0.1:9/hook", "events": []}, "events"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_invalid_endpoints_are_422_on_the_field(api, body, field):
    response = api.post("/v1/webhook_endpoints", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == [field]


def test_deliveries_and_manual_retry_through_the_api(app, api, client, partner_id, receivers):
    receiver = receivers(answers=[500] * 8)
    endpoint_id = api.post(
        "/v1/webhook_endpoints", json={"url": receiver.url, "events": ["trip.opened"]}
    ).json["id"]
    other = api.post(
        "/v1/webhook_endpoints", json={"url": receivers().url, "events": ["trip.canceled"]}
    ).json["id"]
    open_trip(app, partner_id)
    (row,) = deliveries(app, endpoint_id)
    with app.app_context():  # all eight attempts fail
        now = utcnow()
        while tasks.deliver_webhook(row.id, now) == "pending":
            now = db.session.get(WebhookDelivery, row.id, populate_existing=True).next_attempt_at

    listed = api.get(f"/v1/webhook_deliveries?endpoint_id={endpoint_id}").json
    assert [item["id"] for item in listed["data"]] == [row.id]
    assert api.get(f"/v1/webhook_deliveries?endpoint_id={other}").json["data"] == []
    shown = api.get(f"/v1/webhook_deliveries/{row.id}").json
    assert {key: shown[key] for key in ("object", "endpoint_id", "message_id", "event_type")} == {
        "object": "webhook_delivery",
        "endpoint_id": endpoint_id,
        "message_id": row.message_id,
        "event_type": "trip.opened",
    }
    assert (shown["status"], shown["attempt_count"], shown["last_status_code"]) == (
        "failed",
        8,
        500,
    )
    assert shown["next_attempt_at"] is None and len(shown["attempts"]) == 8
    first = shown["attempts"][0]
    assert set(first) == {"attempted_at", "status_code", "latency_ms", "response_excerpt", "error"}
    assert first["status_code"] == 500 and first["response_excerpt"] == '{"answered": 500}'
    assert listed["data"][0] == shown

    retried = api.post(f"/v1/webhook_deliveries/{row.id}/retry")
    assert retried.status_code == 200
    assert retried.json["status"] == "pending" and retried.json["next_attempt_at"]
    run_jobs(app)
    done = api.get(f"/v1/webhook_deliveries/{row.id}").json
    assert (done["status"], done["attempt_count"], done["last_status_code"]) == (
        "succeeded",
        9,
        200,
    )
    assert receiver.ids() == [row.message_id] * 9
    again = api.post(f"/v1/webhook_deliveries/{row.id}/retry")
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


def test_webhook_routes_need_the_webhooks_manage_scope(app, client, partner_id):
    from tests.api_helpers import ApiSession, issue_token

    reader = ApiSession(client, issue_token(app, partner_id, scope="events:read pledges:read"))
    assert reader.get("/v1/webhook_endpoints").status_code == 403
    assert reader.get("/v1/webhook_deliveries").status_code == 403
    assert client.get("/v1/webhook_endpoints").status_code == 401


def test_a_partner_has_at_most_16_endpoints(app, partner_id, receivers):
    url = receivers().url
    for _ in range(endpoints.MAX_ENDPOINTS_PER_PARTNER):
        add_endpoint(app, partner_id, url)
    with pytest.raises(Conflict, match="at most 16"):
        add_endpoint(app, partner_id, url)


def test_the_log_keeps_the_first_1000_characters_of_any_answer(app, partner_id, receivers):
    receiver = receivers(answers=[500], body=b"\x00\xff" + "é".encode() * 5000)
    endpoint_id, _ = add_endpoint(app, partner_id, receiver.url)
    open_trip(app, partner_id)
    run_jobs(app)
    (row,) = deliveries(app, endpoint_id)
    excerpt = row.attempts[0].response_excerpt
    assert len(excerpt) == 1000 and excerpt.startswith("\ufffd\ufffdééé")
