"""An `Idempotency-Key` replay is answered only after authentication and the scope check, and
only to the client that made the first request: nobody else ever sees the stored response (for
a webhook endpoint it holds the shown-once signing secret)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.functional.oauth_helpers import bearer, get_token, new_client
from widget_server.domain.clients import revoke_client
from widget_server.extensions import db
from widget_server.models import AccessToken, ApiClient, WebhookEndpoint
from widget_server.models.types import utcnow

ENDPOINTS = "/v1/webhook_endpoints"
BODY = {"url": "http://127.0.0.1:9/hook", "events": ["pledge.created"], "description": "x"}
KEY = {"Idempotency-Key": "create-hook-1"}


@pytest.fixture
def first(app, client):
    """A client with every scope that created an endpoint with KEY: (credentials, response)."""
    credentials = new_client(app)
    response = client.post(
        ENDPOINTS, json=BODY, headers={**KEY, **bearer(get_token(client, credentials))}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["secret"].startswith("whsec_")
    return credentials, response


def _replay_with(client, token: str):
    return client.post(ENDPOINTS, json=BODY, headers={**KEY, **bearer(token)})


def _assert_no_replay(app, response, status: int, secret: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert "Idempotent-Replayed" not in response.headers
    assert secret not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 1


def test_the_same_client_gets_the_replay(app, client, first):
    credentials, response = first
    again = _replay_with(client, get_token(client, credentials))  # a new token, same client
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == response.json


def test_revoked_token_gets_401(app, client, first):
    credentials, response = first
    token = get_token(client, credentials)
    assert client.post("/oauth/revoke", data={"token": token}, auth=credentials).status_code == 200
    _assert_no_replay(app, _replay_with(client, token), 401, response.json["secret"])


def test_expired_token_gets_401(app, client, first):
    credentials, response = first
    token = get_token(client, credentials)
    with app.app_context(), db.transaction() as session:
        session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    _assert_no_replay(app, _replay_with(client, token), 401, response.json["secret"])


def test_token_of_a_revoked_client_gets_401(app, client, first):
    credentials, response = first
    token = get_token(client, credentials)
    with app.app_context(), db.transaction() as session:
        revoke_client(session, session.get(ApiClient, credentials[0]), "test")
    _assert_no_replay(app, _replay_with(client, token), 401, response.json["secret"])


def test_token_without_the_scope_gets_403(app, client, first):
    credentials, response = first
    token = get_token(client, credentials, scope="events:read")  # same client, narrower token
    _assert_no_replay(app, _replay_with(client, token), 403, response.json["secret"])


def test_no_token_or_a_made_up_token_gets_401(app, client, first):
    _, response = first
    secret = response.json["secret"]
    _assert_no_replay(app, client.post(ENDPOINTS, json=BODY, headers=KEY), 401, secret)
    _assert_no_replay(app, _replay_with(client, "at_made-up"), 401, secret)


def test_another_client_of_the_same_partner_runs_its_own_request(app, client, first):
    _, response = first
    other = new_client(app)  # same partner slug, a second API client
    again = _replay_with(client, get_token(client, other))
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.json["id"] != response.json["id"]
    assert again.json["secret"] != response.json["secret"]


@pytest.mark.parametrize("key", ["k" * 256, "key\x00", "key\x07", "cl\u00e9"])
def test_keys_are_up_to_255_visible_ascii_characters(app, client, key):
    token = get_token(client, new_client(app))
    response = client.post(ENDPOINTS, json=BODY, headers={"Idempotency-Key": key, **bearer(token)})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.json["errors"]) == ["Idempotency-Key"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
