"""Fixtures of the trip-day tests."""

import pytest

from tests.api_helpers import ApiSession, issue_token
from tests.tripday.helpers import confirmed_trip
from widget_server.domain import boarding
from widget_server.extensions import db
from widget_server.models import Pledge

SECRET = "test-secret-key"


@pytest.fixture
def trip_day(app, client):
    ids = confirmed_trip(app, names=("Ana Paid", "Bo Paid", "Cy Paid"))
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    link = api.post(f"/v1/trips/{ids['trip']}/driver_link")
    assert link.status_code == 201, link.json
    ids["url"] = link.json["url"].removeprefix("http://127.0.0.1:8000")
    ids["api"] = api
    with app.app_context():
        ids["codes"] = [
            boarding.boarding_code(SECRET, db.session.get(Pledge, p)) for p in ids["pledges"]
        ]
    return ids
