"""What a cross-site page can make a browser send without asking: text/plain and form bodies,
and `Origin: null`. JSON routes take only JSON; a null origin is another site."""

from __future__ import annotations

import json

import pytest

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner, make_trip
from tests.functional.test_widget_pages import fan_input
from tests.widget_helpers import form_fields
from widget_server.extensions import db
from widget_server.models import Pledge


@pytest.fixture
def world(app, client):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner)
        ids = {"trip": trip.id, "stops": [s.id for s in trip.stops], "partner": partner.id}
    body = {
        "stop_id": ids["stops"][0],
        "seats": 1,
        "name": "Pat Fan",
        "email": "pat@example.com",
        "payment_method": "pm_card_visa",
    }
    ids["body"] = body
    created = client.post(f"/w/kc-chiefs/api/trips/{ids['trip']}/pledges", json=body)
    ids["pledge"] = created.json["pledge"]["id"]
    ids["token"] = created.json["manage_url"].rsplit("/", 1)[-1]
    return ids


def _status(app, pledge_id) -> str:
    with app.app_context():
        return db.session.get(Pledge, pledge_id).status


def test_cancel_as_text_plain_is_415_and_changes_nothing(app, client, world):
    url = f"/w/kc-chiefs/api/manage/{world['token']}/cancel"
    for kwargs in (
        {"data": "{}", "content_type": "text/plain"},
        {"data": "", "content_type": "text/plain;charset=UTF-8"},
        {"data": {"a": "b"}},  # application/x-www-form-urlencoded
        {},  # no body, no content type
    ):
        response = client.post(url, **kwargs)
        assert response.status_code == 415, kwargs
        assert response.mimetype == "application/problem+json"
        assert "application/json" in response.json["detail"]
    assert _status(app, world["pledge"]) == "pledged"
    assert client.post(url, json={}).status_code == 200
    assert _status(app, world["pledge"]) == "canceled"


def test_every_widget_write_refuses_non_json(client, world):
    pledges = f"/w/kc-chiefs/api/trips/{world['trip']}/pledges"
    text = json.dumps({**world["body"], "email": "sam@example.com"})
    assert client.post(pledges, data=text, content_type="text/plain").status_code == 415
    manage = f"/w/kc-chiefs/api/manage/{world['token']}"
    assert (
        client.patch(manage, data='{"stop_id": "x"}', content_type="text/plain").status_code == 415
    )
    demand = client.post("/w/kc-chiefs/api/demand", data={"email": "a@b.example"})
    assert demand.status_code == 415


def test_v1_bodies_must_be_json(app, client, world):
    api = ApiSession(client, issue_token(app, world["partner"]))
    body = json.dumps({"title": "T", "venue": "V", "starts_at": "2031-01-01T00:00:00Z"})
    refused = api.post("/v1/events", data=body, headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415
    # An action without a body needs no content type.
    assert api.post(f"/v1/trips/{world['trip']}/cancel").status_code == 200


def test_a_null_origin_is_another_site(app, client, world):
    url = f"/w/kc-chiefs/api/trips/{world['trip']}/pledges"
    body = {**world["body"], "email": "null@example.com"}
    refused = client.post(url, json=body, headers={"Origin": "null"})
    assert refused.status_code == 403 and refused.json["type"].endswith("/cross-site")
    # A browser's own word (Sec-Fetch-Site) decides when it is there.
    same = client.post(url, json=body, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 201


def test_a_form_post_from_a_null_origin_is_refused(app, client, world):
    page_url = f"/w/kc-chiefs/trips/{world['trip']}/pledge"
    action, hidden = form_fields(client.get(page_url).get_data(as_text=True), "/pledge")
    team = {"stops": world["stops"]}
    data = {**hidden, **fan_input(team, email="form@example.com", seats="1")}
    refused = client.post(action, data=data, headers={"Origin": "null"})
    assert refused.status_code == 403
    ours = client.post(action, data=data, headers={"Origin": "http://localhost"})
    assert ours.status_code == 303


def test_widget_pages_send_their_origin_on_their_own_posts(client, world):
    # With `no-referrer` browsers would send Origin: null on same-origin form posts.
    page = client.get(f"/w/kc-chiefs/trips/{world['trip']}/pledge")
    assert page.headers["Referrer-Policy"] == "same-origin"
