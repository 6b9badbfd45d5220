"""Buses in the console: asking for a bus, the quotes side by side with compliance and the
break-even threshold, awarding (owners and editors only), and another partner's request 404."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.admin_helpers import post, sign_in, team
from tests.factories import make_event
from tests.functional.marketplace_helpers import make_operator
from widget_server.domain.operators import marketplace
from widget_server.extensions import db
from widget_server.models import Event, Operator, Partner, Trip, TripRequest
from widget_server.models.types import utcnow


def _market(app) -> dict:
    ids = team(app, roles=("owner", "viewer"))
    with app.app_context(), db.transaction() as session:
        event = make_event(session, session.get(Partner, ids["partner_id"]))
        ids["event"] = event.id
        ids["acme"] = make_operator(session, "acme", regions=["KS"]).id
        ids["lapsed"] = make_operator(
            session, "lapsed", regions=["KS"], insurance_expires_on=date.today()
        ).id
    return ids


def _departure() -> str:
    """A departure 29 days ahead as the form's datetime-local value (the event's zone)."""
    from zoneinfo import ZoneInfo

    moment = utcnow() + timedelta(days=29)
    return moment.astimezone(ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M")


def _quote(app, request_id: str, operator_id: str, **fields) -> str:
    with app.app_context(), db.transaction() as session:
        values = {
            "seats": 50,
            "amount": 200000,
            "currency": "USD",
            "valid_until": utcnow() + timedelta(days=3),
        } | fields
        quote = marketplace.submit_quote(
            session,
            session.get(Operator, operator_id),
            session.get(TripRequest, request_id),
            actor="test",
            **values,
        )
        return quote.id


def test_asking_comparing_and_awarding_in_the_console(app, client):
    ids = _market(app)
    sign_in(client, ids["owner"])
    form = client.get("/admin/buses/new")
    assert form.status_code == 200 and "Acme Coaches" in form.get_data(as_text=True)
    sent = post(
        client,
        "/admin/buses/new",
        {
            "event_id": ids["event"],
            "origin.name": "Wichita",
            "origin.region": "ks",
            "departs_at": _departure(),
            "expected_riders": "40",
            "vehicle_kind": "coach",
        },
        page="/admin/buses/new",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    with app.app_context():
        request_id = db.session.scalar(select(TripRequest.id))
    good = _quote(app, request_id, ids["acme"])
    _quote(app, request_id, ids["lapsed"], amount=150000)

    page = client.get(f"/admin/buses/{request_id}").get_data(as_text=True)
    assert "Acme Coaches" in page and "Lapsed Coaches" in page
    assert "$2,000.00" in page and "$40.00" in page  # the price, per seat when full
    assert "before the trip" in page  # the lapsed operator's insurance, in plain words
    assert page.count('name="quote_id"') == 1  # only the compliant quote has an award button
    assert "runs with 40 riders" in page  # $2,000 over the 40 riders expected: $50 a seat

    awarded = post(
        client,
        f"/admin/buses/{request_id}/award",
        {"quote_id": good, "price": "50.00"},
        page=f"/admin/buses/{request_id}",
    )
    assert awarded.status_code == 302
    with app.app_context():
        trip = db.session.scalar(select(Trip))
        assert (trip.capacity, trip.min_riders, trip.unit_amount) == (50, 40, 5000)
        assert trip.operator_id == ids["acme"]
    assert client.get("/admin/buses").status_code == 200


def test_viewers_see_but_cannot_ask_or_award_and_other_partners_get_404(app, client):
    ids = _market(app)
    with app.app_context(), db.transaction() as session:
        trip_request = marketplace.request_bus(
            session,
            session.get(Partner, ids["partner_id"]),
            session.get(Event, ids["event"]),
            origin={"name": "Wichita", "region": "KS"},
            departs_at=utcnow() + timedelta(days=29),
            expected_riders=40,
            vehicle_kind="coach",
            actor="test",
        )
        request_id = trip_request.id
    quote_id = _quote(app, request_id, ids["acme"])
    sign_in(client, ids["viewer"])
    page = client.get(f"/admin/buses/{request_id}").get_data(as_text=True)
    assert "Acme Coaches" in page and 'name="quote_id"' not in page
    assert client.get("/admin/buses/new").status_code == 403
    refused = post(
        client,
        f"/admin/buses/{request_id}/award",
        {"quote_id": quote_id, "price": "50"},
        page="/admin/buses",
    )
    assert refused.status_code == 403

    other = team(app, slug="other-team")
    client.post("/admin/logout", data={})
    other_client = app.test_client()
    sign_in(other_client, other["owner"])
    assert other_client.get(f"/admin/buses/{request_id}").status_code == 404
    assert (
        post(
            other_client,
            f"/admin/buses/{request_id}/award",
            {"quote_id": quote_id, "price": "50"},
            page="/admin/buses",
        ).status_code
        == 404
    )
    assert request_id not in other_client.get("/admin/buses").get_data(as_text=True)


def test_garbage_event_and_quote_ids_in_the_forms_are_422_not_500(app, client):
    """A NUL or a megabyte in a form's id field is refused naming it, before any query (on
    PostgreSQL a NUL in a query is an error)."""
    ids = _market(app)
    sign_in(client, ids["owner"])
    for bad in ("evt_\x00" + "x" * 30, "a" * 5000):
        sent = post(
            client,
            "/admin/buses/new",
            {"event_id": bad, "origin.name": "Wichita", "origin.region": "KS",
             "departs_at": _departure(), "expected_riders": "40", "vehicle_kind": "coach"},
            page="/admin/buses/new",
        )  # fmt: skip
        assert sent.status_code == 422, sent.status_code
