"""Partner webhooks end to end: real domain actions emit events, the job queue delivers them
over real HTTP to a receiver on 127.0.0.1, and the Standard Webhooks reference library verifies
every request. Time moves forward by moving `next_attempt_at` back, or by passing `now`.

This module: managing endpoints (URL safety, validation, audit) and the REST API."""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select

from tests.conftest import run_jobs
from tests.functional import webhook_helpers
from tests.functional.webhook_helpers import (
    add_endpoint,
    deliveries,
    open_trip,
)
from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import (
    AuditLogEntry,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from widget_server.models.types import utcnow
from widget_server.webhooks import endpoints

# The fixtures of webhook_helpers, made visible to this module's tests.
receivers = webhook_helpers.receivers
partner_id = webhook_helpers.partner_id


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


def test_the_host_resolves_with_no_transaction_open(app, client, partner_id, monkeypatch):
    """Issue 19: creating or changing an endpoint through the API or the console resolves
    its host first and only then opens the transaction that stores it."""
    from tests.admin_helpers import make_admin, post, sign_in
    from tests.api_helpers import ApiSession, issue_token
    from widget_server.models import Partner

    seen = []

    def resolve(host, port):
        seen.append(db.session.in_transaction())
        return [ipaddress.ip_address("93.184.215.14")]

    monkeypatch.setattr(endpoints, "resolve_host", resolve)
    api = ApiSession(client, issue_token(app, partner_id))
    created = api.post(
        "/v1/webhook_endpoints", json={"url": "https://hooks.example.com/a", "events": ["*"]}
    )
    assert created.status_code == 201, created.json
    changed = api.patch(
        f"/v1/webhook_endpoints/{created.json['id']}", json={"url": "https://hooks.example.com/b"}
    )
    assert changed.status_code == 200 and changed.json["url"].endswith("/b")
    with app.app_context(), db.transaction() as session:
        make_admin(session, session.get(Partner, partner_id), "dev@kc.example", "developer")
    console = app.test_client()
    sign_in(console, "dev@kc.example")
    answer = post(
        console,
        "/admin/webhooks",
        {"url": "https://hooks.example.com/c", "events": "*"},
        page="/admin/webhooks",
    )
    assert answer.status_code == 201
    assert seen == [False, False, False]
    # The domain takes only a URL checked beforehand.
    with pytest.raises(TypeError), app.app_context(), db.transaction() as session:
        endpoints.create_endpoint(
            session,
            session.get(Partner, partner_id),
            url="https://hooks.example.com/d",
            events=["*"],
            settings=app.config["SETTINGS"],
            actor="t",
        )


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
