"""Talking to the partner API in tests as a partner would: client credentials, bearer token."""

from __future__ import annotations

from widget_server.domain.clients import create_client
from widget_server.domain.scopes import SCOPES
from widget_server.extensions import db


class ApiSession:
    """A Flask test client that sends a partner's bearer token on every request."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path, headers=None, **kwargs):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path, headers=None, **kwargs):
        return self.client.post(path, headers=self._headers(headers), **kwargs)

    def patch(self, path, headers=None, **kwargs):
        return self.client.patch(path, headers=self._headers(headers), **kwargs)

    def delete(self, path, headers=None, **kwargs):
        return self.client.delete(path, headers=self._headers(headers), **kwargs)


def issue_token(app, partner_id: str, scope: str = " ".join(SCOPES)) -> str:
    """A real token from POST /oauth/token for a new client of the partner."""
    from widget_server.models import Partner

    with app.app_context(), db.transaction() as session:
        client, secret = create_client(
            session, session.get(Partner, partner_id), scope, "tests", actor="test"
        )
        client_id = client.id
    response = app.test_client().post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["access_token"]


def partner_with_open_trip(app, client, slug: str = "kc-chiefs") -> dict:
    """A partner with an open trip and an API session with every scope: the ids of the partner,
    trip, event and first stop, `api`, and `pledges` (the widget API's pledge URL)."""
    from tests.factories import make_partner, make_trip

    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, slug)
        trip = make_trip(session, partner)
        ids = {"partner": partner.id, "trip": trip.id, "event": trip.event_id}
        ids["stop"] = trip.stops[0].id
    ids["api"] = ApiSession(client, issue_token(app, ids["partner"]))
    ids["pledges"] = f"/w/{slug}/api/trips/{ids['trip']}/pledges"
    return ids


def pledge_body(stop_id: str, **fields) -> dict:
    """A widget pledge body that is accepted, with `fields` changed."""
    body = {
        "stop_id": stop_id,
        "seats": 1,
        "name": "Pat Fan",
        "email": "pat@example.com",
        "payment_method": "pm_card_visa",
    }
    return body | fields
