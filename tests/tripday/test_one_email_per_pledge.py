"""One email per event, saying what happened: a pledge on an open trip gets "pledge received"
(nothing charged yet); a pledge that is charged at once (on a confirmed trip, the pledge that
confirms its trip, a waitlist offer taken on a confirmed trip) gets only the charge's email,
which carries the pledge's details. Never "nothing charged yet, you can withdraw" and "we have
charged you" in the same second."""

from __future__ import annotations

from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import confirmed_trip
from tests.unit.email_helpers import outbox_file, parse, parts
from tests.widget_helpers import form_fields
from widget_server.extensions import db
from widget_server.fan.links import waitlist_url
from widget_server.models import OutboundEmail, Pledge, Trip, WaitlistEntry


def emails_about(app, pledge_id: str) -> list[OutboundEmail]:
    with app.app_context():
        return list(
            db.session.scalars(select(OutboundEmail).where(OutboundEmail.pledge_id == pledge_id))
        )


def pledge(client, ids, name: str, seats: int = 1, locale: str = "en"):
    response = client.post(
        f"/w/{ids['partner']}/api/trips/{ids['trip']}/pledges",
        json={
            "stop_id": ids["stops"][0],
            "seats": seats,
            "name": name,
            "email": f"{name.split()[0].lower()}@example.com",
            "payment_method": "pm_card_visa",
            "locale": locale,
        },
    )
    assert response.status_code == 201, response.json
    return response.json["pledge"]


def test_a_pledge_on_a_confirmed_trip_gets_one_email_the_charge(app, client, settings):
    ids = confirmed_trip(app)
    late = pledge(client, ids, "Dee Late", seats=2)
    assert late["status"] == "paid"  # charged in the request
    run_jobs(app)
    (email,) = emails_about(app, late["id"])
    assert (email.kind, email.status) == ("pledge_paid", "sent")
    subject, text, markup = parts(parse(outbox_file(settings, email.id).read_bytes()))
    assert "is confirmed" in subject
    assert "Thanks for pledging 2 seats on the bus from Wichita" in text
    assert "it is confirmed and running" in text
    assert "We have charged $70.00 to your card." in text
    assert "Seats: 2" in text and "Pick-up: Stop 1" in text  # the pledge's details
    assert "Nothing has been charged yet" not in text and "withdraw" not in text


def test_the_pledge_that_confirms_its_trip_gets_one_email(app, client):
    ids = confirmed_trip(app, names=("Ana Early",))  # min_riders 1: the first pledge tips it
    with app.app_context():
        (first,) = db.session.scalars(select(Pledge.id).where(Pledge.trip_id == ids["trip"]))
    run_jobs(app)
    assert [e.kind for e in emails_about(app, first)] == ["pledge_paid"]


def test_a_pledge_on_an_open_trip_gets_the_received_email_then_the_charge(app, client):
    with app.app_context(), db.transaction() as session:
        trip = make_trip(session, make_partner(session, "kc-chiefs"), capacity=10, min_riders=2)
        ids = {"partner": "kc-chiefs", "trip": trip.id, "stops": [s.id for s in trip.stops]}
    first = pledge(client, ids, "Ann First")
    run_jobs(app)
    assert [e.kind for e in emails_about(app, first["id"])] == ["pledge_received"]
    second = pledge(client, ids, "Bob Second")  # confirms the trip: both are charged
    run_jobs(app)
    kinds = sorted(e.kind for e in emails_about(app, first["id"]))
    assert kinds == ["pledge_paid", "pledge_received"]  # two events, two emails
    assert [e.kind for e in emails_about(app, second["id"])] == ["pledge_paid"]


def test_taking_a_waitlist_offer_on_a_confirmed_trip_sends_one_email(app, client):
    ids = confirmed_trip(app, names=("Ana Paid", "Bo Paid"))
    with app.app_context(), db.transaction() as session:
        session.get(Trip, ids["trip"]).capacity = 2  # sold out
    body = {"stop_id": ids["stops"][0], "seats": 1, "name": "Wanda", "email": "w@example.com"}
    joined = client.post(f"/w/kc-chiefs/api/trips/{ids['trip']}/waitlist", json=body)
    assert joined.status_code == 201, joined.json
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    assert api.post(f"/v1/pledges/{ids['pledges'][0]}/cancel").status_code == 200
    run_jobs(app)
    with app.app_context():
        entry = db.session.scalars(select(WaitlistEntry)).one()
        assert entry.status == "offered"
        path = waitlist_url("kc-chiefs", entry.id).removeprefix("http://127.0.0.1:8000")
    action, hidden = form_fields(client.get(path).get_data(as_text=True), "/claim")
    taken = client.post(action, data={**hidden, "card_number": "4242 4242 4242 4242"})
    assert taken.status_code == 303
    run_jobs(app)
    with app.app_context():
        pledge_id = db.session.get(WaitlistEntry, entry.id).pledge_id
    assert [e.kind for e in emails_about(app, pledge_id)] == ["pledge_paid"]
