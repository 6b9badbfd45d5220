"""The portal's quoting pages: Requests to quote (quote with a vehicle from the fleet), My quotes
(revise, withdraw), roles (a viewer reads only), hostile input (a 422 naming the field) and the
walls (a request not sent to this operator, another operator's quote: 404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_event, make_partner
from tests.functional.operators.portal_helpers import crew, portal_post, portal_sign_in
from widget_server.domain.operators import marketplace
from widget_server.domain.operators.operators import add_vehicle
from widget_server.extensions import db
from widget_server.models import Operator, Quote
from widget_server.models.types import utcnow


def _market(app) -> dict:
    """Two operators with their crews (Prairie Coach with a 55-seat coach), and a partner's
    request from Wichita sent to Prairie Coach only."""
    ids = crew(app, "prairie-coach")
    other = crew(app, "ozark-lines", roles=("owner",))
    with app.app_context(), db.transaction() as session:
        prairie = session.get(Operator, ids["operator_id"])
        vehicle = add_vehicle(
            session,
            prairie,
            {"name": "Coach 12", "kind": "coach", "seats": 55, "plate": "KS 123"},
            actor="test",
        )
        partner = make_partner(session, "kc-chiefs")
        event = make_event(session, partner)
        trip_request = marketplace.request_bus(
            session,
            partner,
            event,
            origin={"name": "Wichita", "region": "KS"},
            departs_at=utcnow() + timedelta(days=29),
            expected_riders=45,
            vehicle_kind="coach",
            operators=["prairie-coach"],
            actor="test",
        )
        ids.update(vehicle=vehicle.id, request=trip_request.id, other_owner=other["owner"])
    return ids


def _day(days: int) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


def _signed_in(app, email):
    client = app.test_client()
    assert portal_sign_in(client, email).status_code == 302
    return client


def test_a_dispatcher_quotes_with_a_fleet_vehicle_revises_and_withdraws(app):
    ids = _market(app)
    client = _signed_in(app, ids["dispatcher"])
    page = client.get("/operator/requests").get_data(as_text=True)
    assert "Wichita" in page and "Coach 12" in page and "Kc Chiefs" in page
    sent = portal_post(
        client,
        f"/operator/requests/{ids['request']}/quote",
        {
            "vehicle_id": ids["vehicle"],
            "price": "2500.00",
            "currency": "USD",
            "valid_until": _day(5),
            "notes": "Wi-Fi on board",
        },
        page="/operator/requests",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    with app.app_context():
        quote = db.session.scalar(select(Quote))
        assert (quote.seats, quote.amount, quote.vehicle_id) == (55, 250000, ids["vehicle"])
        quote_id = quote.id
    assert "$2,500.00" in client.get("/operator/quotes").get_data(as_text=True)
    revised = portal_post(
        client, f"/operator/quotes/{quote_id}", {"price": "2400"}, page="/operator/quotes"
    )
    assert revised.status_code == 302
    withdrawn = portal_post(
        client, f"/operator/quotes/{quote_id}/withdraw", page="/operator/quotes"
    )
    assert withdrawn.status_code == 302
    with app.app_context():
        quote = db.session.get(Quote, quote_id)
        assert (quote.amount, quote.status) == (240000, "withdrawn")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "-3"}, "price"),
        ({"price": "1e400"}, "price"),
        ({"price": "9" * 40}, "price"),
        ({"currency": "ZZZ"}, "currency"),
        ({"valid_until": "2000-01-01"}, "valid_until"),
        ({"valid_until": "99999-12-31"}, "valid_until"),
        ({"seats": "²"}, "seats"),
        ({"seats": "0"}, "seats"),
        ({"vehicle_id": "veh_00000000000000000000000000"}, "vehicle_id"),
        ({"vehicle_id": "veh_\x00" + "x" * 300}, "vehicle_id"),  # a NUL never reaches a query
        ({"notes": "a\x00b"}, "notes"),
    ],
)
def test_hostile_quotes_are_422_naming_the_field(app, fields, field):
    ids = _market(app)
    client = _signed_in(app, ids["owner"])
    body = {"price": "2500", "currency": "USD", "valid_until": _day(5), "seats": "50"} | fields
    answer = portal_post(
        client, f"/operator/requests/{ids['request']}/quote", body, page="/operator/requests"
    )
    assert answer.status_code == 422
    assert f'id="{ids["request"]}-{field}-error"' in answer.get_data(as_text=True)


def test_viewers_read_and_other_operators_get_404(app):
    ids = _market(app)
    viewer = _signed_in(app, ids["viewer"])
    assert "Wichita" in viewer.get("/operator/requests").get_data(as_text=True)
    assert 'name="price"' not in viewer.get("/operator/requests").get_data(as_text=True)
    body = {"price": "2500", "currency": "USD", "valid_until": _day(5), "seats": "50"}
    refused = portal_post(
        viewer, f"/operator/requests/{ids['request']}/quote", body, page="/operator/requests"
    )
    assert refused.status_code == 403
    owner = _signed_in(app, ids["owner"])
    portal_post(
        owner, f"/operator/requests/{ids['request']}/quote", body, page="/operator/requests"
    )
    with app.app_context():
        quote_id = db.session.scalar(select(Quote.id))
    other = _signed_in(app, ids["other_owner"])
    assert "Wichita" not in other.get("/operator/requests").get_data(as_text=True)
    for path in (
        f"/operator/requests/{ids['request']}/quote",
        f"/operator/quotes/{quote_id}",
        f"/operator/quotes/{quote_id}/withdraw",
    ):
        answer = portal_post(other, path, body, page="/operator/quotes")
        assert answer.status_code == 404, path
    assert quote_id not in other.get("/operator/quotes").get_data(as_text=True)


def test_an_owner_adds_a_webhook_endpoint_for_the_operators_news(app):
    ids = _market(app)
    owner = _signed_in(app, ids["owner"])
    page = owner.get("/operator/webhooks").get_data(as_text=True)
    assert "quote.awarded" in page and "pledge.created" not in page
    made = portal_post(
        owner,
        "/operator/webhooks",
        {"url": "http://127.0.0.1:9/news", "events": ["quote.awarded"], "description": "ERP"},
        page="/operator/webhooks",
    )
    assert made.status_code == 201 and "whsec_" in made.get_data(as_text=True)
    with app.app_context():
        from widget_server.models import WebhookEndpoint

        endpoint = db.session.scalar(select(WebhookEndpoint))
        assert endpoint.operator_id == ids["operator_id"] and endpoint.partner_id is None
        endpoint_id = endpoint.id
    partner_only = portal_post(
        owner,
        "/operator/webhooks",
        {"url": "http://127.0.0.1:9/news", "events": ["pledge.created"]},
        page="/operator/webhooks",
    )
    assert partner_only.status_code == 422
    dispatcher = _signed_in(app, ids["dispatcher"])
    assert dispatcher.get("/operator/webhooks").status_code == 403
    other = _signed_in(app, ids["other_owner"])
    gone = portal_post(other, f"/operator/webhooks/{endpoint_id}/delete", page="/operator/")
    assert gone.status_code == 404
    deleted = portal_post(owner, f"/operator/webhooks/{endpoint_id}/delete", page="/operator/")
    assert deleted.status_code == 302
