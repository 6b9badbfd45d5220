"""One sale decision (pledges/sales.py) for every face: the widget JSON, the widget pages with
and without JavaScript, the public page's schema.org availability, the /v1 trip and a pledge
attempt all say the same thing, whatever the waitlist holds; trip lists load their stops and
the line with the list."""

import json
import re

import pytest
from sqlalchemy import event

from tests.admin_helpers import make_admin, sign_in
from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_event, make_partner, make_trip
from tests.tripday.helpers import fan_request
from tests.widget_helpers import form_fields
from widget_server.domain import catalog
from widget_server.domain.pledges import planning, recording, waitlist
from widget_server.extensions import db
from widget_server.models import Partner, Trip

SLUG = "kc-chiefs"


@pytest.fixture
def sold_out(app):
    """An open trip of 3 seats, 2 pledged, and the ids (the third seat confirms it)."""
    provider = app.extensions["ridepledge.payments"]
    app.config["RATELIMIT_WIDGET_WRITE"] = "10000 per minute"
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, SLUG)
        trip = make_trip(session, partner, capacity=3, min_riders=3)
        ids = {"partner": partner.id, "trip": trip.id, "stop": trip.stops[0].id}
        ids["pledges"] = [
            recording.create_pledge(
                session, provider, partner, trip.id, fan_request(trip, f"Fan{i} Early")
            ).id
            for i in range(2)
        ]
    return ids


def _fill(app, ids, seats=1):
    """The last seat(s) pledged by one more fan; returns the pledge id."""
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = session.get(Partner, ids["partner"])
        trip = planning.get_trip(session, partner, ids["trip"])
        return recording.create_pledge(
            session, provider, partner, trip.id, fan_request(trip, "Last Fan", seats=seats)
        ).id


def _join(app, ids, name, seats):
    with app.app_context(), db.transaction() as session:
        waitlist.join_waitlist(
            session,
            session.get(Partner, ids["partner"]),
            ids["trip"],
            stop_id=ids["stop"],
            seats=seats,
            name=name,
            email=f"{name.lower()}@example.com",
        )


def _more_seats(app, ids, capacity=4):
    """The partner raises the capacity: seats free up (the refresh job is queued)."""
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, ids["trip"])
        catalog.update_trip(session, trip, {"capacity": capacity}, actor="test")


def _availability(client, trip_id) -> str:
    html = client.get(f"/t/{SLUG}/{trip_id}").get_data(as_text=True)
    (ld,) = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S)
    (bus_trip,) = [node for node in json.loads(ld)["@graph"] if node["@type"] == "BusTrip"]
    return bus_trip["offers"]["availability"].rsplit("/", 1)[1]


def _pledge(client, ids, seats=1, email="new@example.com"):
    return client.post(
        f"/w/{SLUG}/api/trips/{ids['trip']}/pledges",
        json={
            "stop_id": ids["stop"],
            "seats": seats,
            "name": "New Fan",
            "email": email,
            "payment_method": "pm_card_visa",
        },
    )


def test_seats_no_waiting_party_fits_are_shown_and_taken(app, client, sold_out):
    """A party of 2 waits; 1 seat frees up: nobody in line can use it, so it is on sale, shown
    as such, and a pledge of 1 is taken (it used to be shown, then refused as sold out)."""
    ids = sold_out
    _fill(app, ids)
    _join(app, ids, "Pair", seats=2)
    _more_seats(app, ids)
    run_jobs(app)  # the refresh: the pair does not fit in 1 seat, so no offer is made

    trip = client.get(f"/w/{SLUG}/api/trips/{ids['trip']}").json
    assert (trip["seats_available"], trip["waitlist_open"]) == (1, False)
    page = client.get(f"/w/{SLUG}/trips/{ids['trip']}").get_data(as_text=True)
    assert f"/trips/{ids['trip']}/pledge" in page and 'id="waitlist-title"' not in page
    assert re.search(r"data-seats-left>1<", page)
    assert _availability(client, ids["trip"]) == "InStock"

    taken = _pledge(client, ids, seats=1)
    assert taken.status_code == 201, taken.json
    refused = _pledge(client, ids, seats=1, email="late@example.com")
    assert refused.status_code == 409 and refused.json["type"].endswith("/sold-out")


def test_seats_a_waiting_party_fits_are_the_lines_on_every_face(app, client, sold_out):
    """A fan of 1 waits; 1 seat frees up and the refresh has not run yet: the seat is the
    line's, so every face says sold out with the waitlist open (the JSON, the pages without
    JavaScript, the public page, /v1) and a pledge is refused as sold out (the page used to
    show "1 seat left" and the pledge form, with no waitlist form)."""
    ids = sold_out
    _fill(app, ids)
    _join(app, ids, "Solo", seats=1)
    _more_seats(app, ids)  # the refresh job is queued, not run

    trip = client.get(f"/w/{SLUG}/api/trips/{ids['trip']}").json
    assert (trip["seats_available"], trip["waitlist_open"]) == (0, True)
    page = client.get(f"/w/{SLUG}/trips/{ids['trip']}").get_data(as_text=True)
    assert 'id="waitlist-title"' in page and f'/trips/{ids["trip"]}/pledge"' not in page
    assert 'data-sold-out="1"' in page
    assert client.get(f"/w/{SLUG}/trips/{ids['trip']}/pledge").status_code == 303
    assert _availability(client, ids["trip"]) == "SoldOut"
    api = ApiSession(client, issue_token(app, ids["partner"]))
    v1 = api.get(f"/v1/trips/{ids['trip']}").json
    assert (v1["seats_available"], v1["waitlist_open"]) == (0, True)

    with app.app_context(), db.transaction() as session:
        make_admin(session, session.get(Partner, ids["partner"]), "owner@kc.example")
    console = app.test_client()
    assert sign_in(console, "owner@kc.example").status_code == 302
    html = console.get(f"/admin/trips/{ids['trip']}").get_data(as_text=True)
    assert 'data-field="seats_available">0<' in html and "data-waitlist-open" in html

    refused = _pledge(client, ids)
    assert refused.status_code == 409 and refused.json["type"].endswith("/sold-out")
    joined = client.post(
        f"/w/{SLUG}/api/trips/{ids['trip']}/waitlist",
        json={"stop_id": ids["stop"], "seats": 1, "name": "Next", "email": "next@example.com"},
    )
    assert joined.status_code == 201


def test_a_sold_out_no_js_pledge_shows_the_waitlist_form(app, client, sold_out):
    """Without JavaScript: the pledge form was loaded with a seat left, another fan took it
    meanwhile; the refusal is the trip page with the waitlist form filled in (it used to be the
    pledge form again, with no way to join the line)."""
    ids = sold_out
    form_page = client.get(f"/w/{SLUG}/trips/{ids['trip']}/pledge")
    assert form_page.status_code == 200
    action, hidden = form_fields(form_page.get_data(as_text=True), "/pledge")
    _fill(app, ids)
    refused = client.post(
        action,
        data={
            **hidden,
            "stop_id": ids["stop"],
            "seats": "1",
            "name": "Slow Fan",
            "email": "slow@example.com",
            "card_number": "4242 4242 4242 4242",
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert 'id="waitlist-title"' in html and 'value="slow@example.com"' in html
    joined = client.post(
        f"/w/{SLUG}/trips/{ids['trip']}/waitlist",
        data={
            **form_fields(html, "/waitlist")[1],
            "stop_id": ids["stop"],
            "seats": "1",
            "name": "Slow Fan",
            "email": "slow@example.com",
        },
    )
    assert joined.status_code == 303 and f"/w/{SLUG}/waitlist/" in joined.headers["Location"]


def _statements(app, fetch) -> int:
    engine = app.extensions["ridepledge.engine"]
    seen = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fetch()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("face", ["widget", "v1", "widget_page"])
def test_trip_lists_do_not_load_each_trips_stops(app, client, face):
    """The number of queries of a trips list does not grow with its trips."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, SLUG)
        few, many = make_event(session, partner), make_event(session, partner)
        for _ in range(2):
            make_trip(session, partner, few)
        for _ in range(7):
            make_trip(session, partner, many)
        ids = {"partner": partner.id, "few": few.id, "many": many.id}
    api = ApiSession(client, issue_token(app, ids["partner"])) if face == "v1" else None

    def fetch(event_id):
        if face == "widget":
            url = f"/w/{SLUG}/api/trips?event_id={event_id}"
            return lambda: client.get(url).json["data"]
        if face == "widget_page":
            return lambda: client.get(f"/w/{SLUG}/events/{event_id}").get_data()
        return lambda: api.get(f"/v1/trips?event_id={event_id}").json["data"]

    fetch(ids["few"])()  # warm up: the partner, the token
    assert _statements(app, fetch(ids["many"])) == _statements(app, fetch(ids["few"]))
