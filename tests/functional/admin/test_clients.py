"""API clients in the console: a developer creates one with scopes, its secret shows once and
gets a token, last use shows, revoking stops it; other roles are refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.factories import make_partner
from widget_server.extensions import db
from widget_server.models import ApiClient
from widget_server.models.types import utcnow


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


def token_for(app, client_id, secret):
    return app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def roll(dev, client_id, overlap):
    return dev.post(
        f"/admin/clients/{client_id}/roll",
        data={"csrf_token": csrf(dev, "/admin/clients"), "overlap": overlap},
    )


def ids_and_secret(answer):
    page = answer.get_data(as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', page).group(1)
    return client_id, re.search(r'id="client-secret">([^<]+)<', page).group(1)


def test_rolling_a_secret_keeps_the_old_one_during_the_chosen_overlap(app, world):
    dev = client_of(app, "developer")
    client_id, old = ids_and_secret(create(dev, ["events:read"]))
    rolled = roll(dev, client_id, "1h")
    assert rolled.status_code == 200
    assert "keeps working until" in rolled.get_data(as_text=True)
    _same, new = ids_and_secret(rolled)
    assert new != old and _same == client_id
    assert token_for(app, client_id, new).status_code == 200
    assert token_for(app, client_id, old).status_code == 200  # within the hour
    assert "old secret works until" in dev.get("/admin/clients").get_data(as_text=True)

    with app.app_context(), db.transaction() as session:  # the hour passes
        row = session.get(ApiClient, client_id)
        row.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    assert token_for(app, client_id, old).status_code == 401
    assert token_for(app, client_id, new).status_code == 200

    _same, newest = ids_and_secret(roll(dev, client_id, "now"))
    assert token_for(app, client_id, new).status_code == 401  # "now": no overlap at all
    assert token_for(app, client_id, newest).status_code == 200


def test_rolling_refuses_a_made_up_overlap_and_other_roles(app, world):
    dev = client_of(app, "developer")
    client_id, secret = ids_and_secret(create(dev, ["events:read"]))
    bad = roll(dev, client_id, "1y")
    assert bad.status_code == 422 and "Choose now, 1 hour or 24 hours." in bad.get_data(
        as_text=True
    )
    assert roll(client_of(app, "editor"), client_id, "1h").status_code == 403
    assert token_for(app, client_id, secret).status_code == 200  # nothing changed
