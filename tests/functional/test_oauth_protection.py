"""OAuth 2.0: bearer-token protection of views, revocation and introspection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.functional import oauth_helpers
from tests.functional.oauth_helpers import (
    EVENTS,
    GRANT,
    assert_oauth_problem,
    bearer,
    get_token,
    new_client,
)
from widget_server.domain.clients import revoke_client
from widget_server.domain.scopes import OPERATOR_SCOPES, SCOPES
from widget_server.extensions import db
from widget_server.models import AccessToken, ApiClient, AuditLogEntry
from widget_server.models.types import utcnow
from widget_server.oauth.protect import SECURITY_SCHEMES, require_scope

# The fixtures of oauth_helpers, made visible to this module's tests.
protected = oauth_helpers.protected


# -- protected resources -----------------------------------------------------------------------


def test_token_opens_protected_views_and_sets_g(protected, client):
    credentials = new_client(protected, scope="events:read trips:write")
    token = get_token(client, credentials)
    response = client.get(EVENTS, headers=bearer(token))
    assert response.status_code == 200
    assert response.json == {
        "partner": "kc-chiefs",
        "client_id": credentials[0],
        "scopes": ["events:read", "trips:write"],
    }
    trips = client.post("/v1/_oauth_test/trips", headers=bearer(token))  # a MethodView method
    assert trips.status_code == 201 and trips.json == {"client_id": credentials[0]}


def test_no_token_is_401_with_a_bare_bearer_challenge(protected, client):
    response = client.get(EVENTS)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ridepledge"'
    assert "error" not in response.json
    for header in ("Basic Zm9vOmJhcg==", "Bearer", "Bearer  "):
        malformed = client.get(EVENTS, headers={"Authorization": header})
        assert_oauth_problem(malformed, 401, "invalid_token")
        assert malformed.headers["WWW-Authenticate"].startswith('Bearer realm="ridepledge"')


def test_unknown_token_is_401_invalid_token(protected, client):
    response = client.get(EVENTS, headers=bearer("at_not-a-token"))
    assert_oauth_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="ridepledge", error="invalid_token", '
        'error_description="The access token is not valid."'
    )


def test_expired_token_is_401(protected, client):
    token = get_token(client, new_client(protected))
    with protected.app_context(), db.transaction() as session:
        session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.get(EVENTS, headers=bearer(token))
    assert_oauth_problem(response, 401, "invalid_token")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="ridepledge", error="invalid_token"')
    assert "expired" in challenge


def test_token_revoked_at_the_revocation_endpoint_is_401(protected, client):
    credentials = new_client(protected)
    token = get_token(client, credentials)
    response = client.post("/oauth/revoke", data={"token": token}, auth=credentials)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    response = client.get(EVENTS, headers=bearer(token))
    assert_oauth_problem(response, 401, "invalid_token")
    assert "revoked" in response.headers["WWW-Authenticate"]
    with protected.app_context():
        actions = db.session.scalars(select(AuditLogEntry.action)).all()
        assert "access_token.revoked" in actions


def test_revoked_client_gets_no_tokens_and_its_tokens_stop_working(protected, client):
    credentials = new_client(protected)
    token = get_token(client, credentials)
    with protected.app_context(), db.transaction() as session:
        assert revoke_client(session, session.get(ApiClient, credentials[0]), "test") == 1
    assert_oauth_problem(client.get(EVENTS, headers=bearer(token)), 401, "invalid_token")
    response = client.post("/oauth/token", data=GRANT, auth=credentials)
    assert_oauth_problem(response, 401, "invalid_client")
    with protected.app_context():
        actions = db.session.scalars(select(AuditLogEntry.action)).all()
        assert {"api_client.created", "api_client.revoked"} <= set(actions)


def test_missing_scope_is_403_insufficient_scope(protected, client):
    token = get_token(client, new_client(protected, scope="events:read"))
    response = client.post(EVENTS, headers=bearer(token))
    body = assert_oauth_problem(response, 403, "insufficient_scope")
    assert "events:write" in body["detail"]
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="ridepledge", error="insufficient_scope", scope="events:write"'
    )


def test_require_scope_refuses_unknown_scopes_at_decoration():
    with pytest.raises(ValueError, match="events:admin"):
        require_scope("events:admin")


def test_security_scheme_documents_every_scope():
    flow = SECURITY_SCHEMES["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert list(flow["scopes"]) == [*SCOPES, *OPERATOR_SCOPES]
    assert all(flow["scopes"].values())


# -- revocation and introspection --------------------------------------------------------------


def test_revoking_unknown_or_foreign_tokens_answers_200_and_changes_nothing(protected, client):
    ours = new_client(protected, "kc-chiefs")
    theirs = new_client(protected, "lv-raiders")
    their_token = get_token(client, theirs)
    for token in ("at_unknown", their_token):
        response = client.post("/oauth/revoke", data={"token": token}, auth=ours)
        assert response.status_code == 200 and response.json == {}
    assert client.get(EVENTS, headers=bearer(their_token)).status_code == 200

    unauthenticated = client.post("/oauth/revoke", data={"token": their_token})
    assert_oauth_problem(unauthenticated, 401, "invalid_client")
    missing = client.post("/oauth/revoke", data={}, auth=ours)
    assert_oauth_problem(missing, 400, "invalid_request")


def test_introspection_active_inactive_and_cross_partner(app, client):
    ours = new_client(app, "kc-chiefs", scope="events:read trips:read")
    sibling = new_client(app, "kc-chiefs")
    theirs = new_client(app, "lv-raiders")
    token = get_token(client, ours, scope="events:read")

    response = client.post("/oauth/introspect", data={"token": token}, auth=sibling)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["active"] is True
    assert body["scope"] == "events:read"
    assert body["client_id"] == ours[0]
    assert body["token_type"] == "Bearer"
    assert body["partner"] == "kc-chiefs"
    assert body["iss"] == "http://127.0.0.1:8000"
    assert body["exp"] - body["iat"] == 3600

    foreign = client.post("/oauth/introspect", data={"token": token}, auth=theirs)
    assert foreign.json == {"active": False}
    unknown = client.post("/oauth/introspect", data={"token": "at_nothing"}, auth=ours)
    assert unknown.json == {"active": False}

    client.post("/oauth/revoke", data={"token": token}, auth=ours)
    revoked = client.post("/oauth/introspect", data={"token": token}, auth=ours)
    assert revoked.json == {"active": False}

    unauthenticated = client.post("/oauth/introspect", data={"token": token})
    assert_oauth_problem(unauthenticated, 401, "invalid_client")


def test_introspection_of_an_expired_token_is_inactive(app, client):
    credentials = new_client(app)
    token = get_token(client, credentials)
    with app.app_context(), db.transaction() as session:
        session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.post("/oauth/introspect", data={"token": token}, auth=credentials)
    assert response.json == {"active": False}
