"""Shared by the OAuth tests: API clients, tokens, problem checks and the `protected` fixture
(a test blueprint guarded by `require_scope`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, g
from flask.views import MethodView

from tests.factories import make_partner
from widget_server.domain.clients import create_client
from widget_server.domain.scopes import SCOPES
from widget_server.extensions import db
from widget_server.oauth.protect import require_scope

ROOT = Path(__file__).resolve().parents[2]
ALL_SCOPES = " ".join(SCOPES)
GRANT = {"grant_type": "client_credentials"}
EVENTS = "/v1/_oauth_test/events"


def new_client(app, slug: str = "kc-chiefs", scope: str = ALL_SCOPES) -> tuple[str, str]:
    """A partner (created if new) and a new API client of it: (client_id, client_secret)."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, slug)
        client, secret = create_client(session, partner, scope, "tests", actor="test")
        return client.id, secret


def get_token(client, credentials: tuple[str, str], **form) -> str:
    response = client.post("/oauth/token", data={**GRANT, **form}, auth=credentials)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_oauth_problem(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["error"] == error
    assert body["error_description"] == body["detail"]
    assert body["type"].endswith(error.replace("_", "-"))
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


class TripsView(MethodView):
    @require_scope("trips:write")
    def post(self):
        return {"client_id": g.client_id}, 201


@pytest.fixture
def protected(app):
    """The app with test views that need `events:read`, `events:write`, `trips:write`."""
    blueprint = Blueprint("oauth_test", __name__)

    @blueprint.get(EVENTS)
    @require_scope("events:read")
    def read_events():
        return {
            "partner": g.partner.slug,
            "client_id": g.client_id,
            "scopes": sorted(g.token_scopes),
        }

    @blueprint.post(EVENTS)
    @require_scope("events:write")
    def write_events():
        return {"written": True}, 201

    blueprint.add_url_rule("/v1/_oauth_test/trips", view_func=TripsView.as_view("trips"))
    app.register_blueprint(blueprint)
    return app
