"""One strictness for numbers: JSON integers are JSON integers (not "5", 5.0 or true) on every
write, query and form integers are ASCII digits, and forged cursors are a 422 naming `cursor`."""

from __future__ import annotations

import base64

import pytest
from marshmallow import Schema, ValidationError
from sqlalchemy import func, select

from tests.api_helpers import partner_with_open_trip, pledge_body
from tests.widget_helpers import submit_form
from widget_server.domain.numbers import Boolean, Integer
from widget_server.extensions import db
from widget_server.models import Partner, Pledge


@pytest.fixture
def world(app, client):
    return partner_with_open_trip(app, client)


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/v1/demand", "9" * 40),
        ("/v1/demand", "²"),
        ("/v1/demand", "-1"),
        ("/v1/events", "evt_not-an-id"),
        ("/v1/trips", "9" * 40),
        ("/v1/pledges", "plg_\u202e"),
        ("/v1/webhook_deliveries", "x"),
    ],
)
def test_forged_cursors_are_a_422_naming_cursor(world, path, value):
    for cursor in (_cursor(value), value, "%%%", "=" * 8):
        response = world["api"].get(path, query_string={"cursor": cursor})
        assert response.status_code == 422, (path, cursor, response.get_data(as_text=True))
        assert list(response.json["errors"]) == ["cursor"]


@pytest.mark.parametrize("limit", ["²", "\u0665", " 5", "5.0", "1e1", "9" * 40, "-1", "0", "101"])
def test_limits_are_ascii_digits_in_range(world, limit):
    response = world["api"].get("/v1/events", query_string={"limit": limit})
    assert response.status_code == 422 and list(response.json["errors"]) == ["limit"]


@pytest.mark.parametrize("value", ["5", 5.0, True, "true", None, [5]])
def test_partner_integers_are_strict(app, world, value):
    response = world["api"].patch("/v1/partner", json={"demand_threshold": value})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.json["errors"]) == ["demand_threshold"]
    radius = world["api"].patch("/v1/partner", json={"branding": {"corner_radius": value}})
    assert radius.status_code == 422 and list(radius.json["errors"]) == ["branding.corner_radius"]
    with app.app_context():
        assert db.session.scalar(select(Partner.demand_threshold)) == 25
    assert world["api"].patch("/v1/partner", json={"demand_threshold": 5}).status_code == 200


def test_trip_and_pledge_integers_refuse_booleans(app, client, world):
    trip = world["api"].patch(f"/v1/trips/{world['trip']}", json={"capacity": True})
    assert trip.status_code in (409, 422)  # open trips may change capacity: so it is the type
    assert list(trip.json["errors"]) == ["capacity"]
    body = pledge_body(world["stop"], seats=True)
    pledge = client.post(f"/w/kc-chiefs/api/trips/{world['trip']}/pledges", json=body)
    assert pledge.status_code == 422 and list(pledge.json["errors"]) == ["seats"]


@pytest.mark.parametrize("seats", ["²", "\u0663", "1e1", "99999999999999999999", "-1", " "])
def test_form_seats_that_are_not_digits_are_a_seats_error(app, client, world, seats):
    page = f"/w/kc-chiefs/trips/{world['trip']}/pledge"
    fan = {
        "stop_id": world["stop"],
        "seats": seats,
        "name": "Pat Fan",
        "email": "pat@example.com",
        "card_number": "4242 4242 4242 4242",
    }
    response = submit_form(client, page, "/pledge", fan)
    assert response.status_code == 422
    assert "Choose from 1 to 10 seats." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 0


def test_strict_fields_on_their_own():
    class _Flags(Schema):
        count = Integer(load_default=None)
        on = Boolean(load_default=None)

    assert _Flags().load({"count": 3, "on": False}) == {"count": 3, "on": False}
    for bad in ({"count": True}, {"count": "3"}, {"count": 3.0}, {"on": 1}, {"on": "yes"}):
        with pytest.raises(ValidationError) as caught:
            _Flags().load(bad)
        assert list(caught.value.messages) == list(bad)
