"""API clients in the console: a developer creates one with scopes, its secret shows once and
gets a token, last use shows, revoking stops it; other roles are refused."""

from __future__ import annotations

import re

import pytest

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.factories import make_partner
from widget_server.extensions import db


@pytest.fixture
def world(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        for role in ("developer", "editor", "viewer"):
            make_admin(session, partner, f"{role}@chiefs.example", role)


def client_of(app, role):
    client = app.test_client()
    sign_in(client, f"{role}@chiefs.example")
    return client


def create(client, scopes, name="Ticketing"):
    token = csrf(client, "/admin/clients")
    data = [("csrf_token", token), ("name", name)] + [("scope", s) for s in scopes]
    from werkzeug.datastructures import MultiDict

    return client.post("/admin/clients", data=MultiDict(data))


def test_a_developer_creates_a_client_whose_secret_gets_a_token_then_revokes_it(app, world):
    dev = client_of(app, "developer")
    answer = create(dev, ["events:read", "trips:read"])
    assert answer.status_code == 201
    page = answer.get_data(as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', page).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', page).group(1)
    assert answer.headers["Cache-Control"] == "no-store"
    api = app.test_client()
    token = api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert token.status_code == 200
    assert token.get_json()["scope"] == "events:read trips:read"
    listing = dev.get("/admin/clients").get_data(as_text=True)
    assert secret not in listing  # shown once only
    assert "Ticketing" in listing and "—" not in listing.split(client_id, 1)[1].split("</tr>", 1)[0]
    revoked = dev.post(
        f"/admin/clients/{client_id}/revoke", data={"csrf_token": csrf(dev, "/admin/clients")}
    )
    assert revoked.status_code == 302
    again = api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert again.status_code == 401


def test_no_scope_is_refused_naming_the_field(app, world):
    answer = create(client_of(app, "developer"), [])
    assert answer.status_code == 422
    assert 'id="c-scope-error"' in answer.get_data(as_text=True)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_other_roles_cannot_create_clients(app, world, role):
    client = client_of(app, role)
    assert "Create the client" not in client.get("/admin/clients").get_data(as_text=True)
    assert create(client, ["events:read"]).status_code == 403
