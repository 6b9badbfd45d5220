"""The waitlist: joining only while sold out, freed seats held for the first in line who fit,
never sold to others meanwhile, never offered twice, expired and declined offers passing on."""

import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import emails_of_kind, fan_request
from tests.widget_helpers import form_fields, submit_form
from widget_server.domain.pledges import recording, waitlist
from widget_server.extensions import db
from widget_server.models import Pledge, Trip, WaitlistEntry
from widget_server.models.types import utcnow


@pytest.fixture
def full_trip(app):
    """A confirmed trip with its 8 seats paid by 8 fans."""
    provider = app.extensions["ridepledge.payments"]
    app.config["RATELIMIT_WIDGET_WRITE"] = "10000 per minute"
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs", waitlist_hold_hours=3)
        trip = make_trip(session, partner, capacity=8, min_riders=8)
        ids = {"partner_id": partner.id, "trip": trip.id, "stop": trip.stops[0].id}
        ids["paid"] = [
            recording.create_pledge(
                session, provider, partner, trip.id, fan_request(trip, f"Fan{i} Paid")
            ).id
            for i in range(8)
        ]
    run_jobs(app)
    return ids


def join(client, ids, name, seats=1):
    return client.post(
        f"/w/kc-chiefs/api/trips/{ids['trip']}/waitlist",
        json={
            "stop_id": ids["stop"],
            "seats": seats,
            "name": name,
            "email": f"{name.lower()}@example.com",
        },
    )


def entries(app, trip_id) -> list[WaitlistEntry]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(WaitlistEntry)
                .where(WaitlistEntry.trip_id == trip_id)
                .order_by(WaitlistEntry.position)
            )
        )


def trip_seats(app, trip_id):
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        return trip.seats_pledged, trip.seats_held


def test_join_only_while_sold_out(app, client):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=4, min_riders=2)
        ids = {"trip": trip.id, "stop": trip.stops[0].id}
    refused = join(client, ids, "Early")
    assert refused.status_code == 409 and refused.json["type"].endswith("/not-sold-out")
    bad = client.post(f"/w/kc-chiefs/api/trips/{ids['trip']}/waitlist", json={"seats": 0})
    assert bad.status_code == 422 and {"stop_id", "seats", "name", "email"} <= set(
        bad.json["errors"]
    )
    assert join(client, {**ids, "trip": "trp_nope"}, "X").status_code == 404


def test_twenty_racers_three_freed_seats_five_in_line(app, client, live_server, full_trip):
    ids = full_trip
    line = ["Wanda", "Xavier", "Yara", "Zoe", "Quinn"]
    for name in line:
        response = join(client, ids, name)
        assert response.status_code == 201, response.json
    assert response.json["waitlist_entry"]["position"] == 5
    run_jobs(app)
    assert len([e for e in emails_of_kind(app, "waitlist_joined") if e.status == "sent"]) == 5
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    url = f"{live_server.url}/w/kc-chiefs/api/trips/{ids['trip']}/pledges"
    results = []
    barrier = threading.Barrier(23)

    def racer(i):
        barrier.wait(timeout=10)
        body = {
            "stop_id": ids["stop"],
            "seats": 1,
            "name": f"Racer {i}",
            "email": f"racer{i}@example.com",
            "payment_method": "pm_card_visa",
        }
        results.append(requests.post(url, json=body, timeout=60).status_code)

    def free_a_seat(pledge_id):
        barrier.wait(timeout=10)
        token = issue_token_cache["token"]
        response = requests.post(
            f"{live_server.url}/v1/pledges/{pledge_id}/cancel",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text

    issue_token_cache = {"token": api.token}
    threads = [threading.Thread(target=racer, args=(i,)) for i in range(20)]
    threads += [threading.Thread(target=free_a_seat, args=(p,)) for p in ids["paid"][:3]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == [409] * 20  # nobody else got a freed seat
    # The refresh job may run several times at once (one per freed seat, plus the sweep).
    refreshers = [threading.Thread(target=_refresh, args=(app, ids["trip"])) for _ in range(4)]
    for thread in refreshers:
        thread.start()
    for thread in refreshers:
        thread.join(timeout=60)
    run_jobs(app)
    states = [(e.name, e.status) for e in entries(app, ids["trip"])]
    assert states == [
        ("Wanda", "offered"),
        ("Xavier", "offered"),
        ("Yara", "offered"),
        ("Zoe", "waiting"),
        ("Quinn", "waiting"),
    ]
    assert trip_seats(app, ids["trip"]) == (5, 3)
    offers = [e for e in emails_of_kind(app, "waitlist_offer") if e.status == "sent"]
    assert len(offers) == 3  # never offered twice
    with app.app_context():
        assert db.session.query(Pledge).filter(Pledge.name.like("Racer%")).count() == 0
        hold = entries(app, ids["trip"])[0].offer_expires_at - utcnow()
        assert timedelta(hours=2, minutes=59) < hold <= timedelta(hours=3)

    # Wanda takes her seat through the link in her email; Xavier's offer expires and passes on.
    wanda = entries(app, ids["trip"])[0]
    with app.app_context():
        from widget_server.fan.links import waitlist_url

        page_path = waitlist_url("kc-chiefs", wanda.id).removeprefix("http://127.0.0.1:8000")
    html = client.get(page_path).get_data(as_text=True)
    assert "Seats are held for you until" in html
    action, hidden = form_fields(html, "/claim")
    taken = client.post(action, data={**hidden, "card_number": "4242 4242 4242 4242"})
    assert taken.status_code == 303 and "/manage/" in taken.headers["Location"]
    assert (
        client.post(action, data={**hidden, "card_number": "4242424242424242"}).status_code == 409
    )
    with app.app_context(), db.transaction() as session:
        waitlist.refresh_waitlist(
            session, ids["trip"], now=utcnow() + timedelta(hours=3, minutes=1)
        )
    run_jobs(app)
    states = {e.name: e.status for e in entries(app, ids["trip"])}
    assert states == {
        "Wanda": "claimed",
        "Xavier": "expired",
        "Yara": "expired",
        "Zoe": "offered",
        "Quinn": "offered",
    }
    assert trip_seats(app, ids["trip"]) == (6, 2)
    with app.app_context():
        claimed = db.session.get(Pledge, entries(app, ids["trip"])[0].pledge_id)
        assert claimed.status == "paid" and claimed.name == "Wanda"


def _refresh(app, trip_id):
    with app.app_context(), db.transaction() as session:
        waitlist.refresh_waitlist(session, trip_id)


def test_decline_passes_on_and_offers_stop_at_the_deadline(app, client, full_trip):
    ids = full_trip
    for name in ("Ana", "Ben"):
        assert join(client, ids, name).status_code == 201
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    api.post(f"/v1/pledges/{ids['paid'][0]}/cancel")
    run_jobs(app)
    ana, ben = entries(app, ids["trip"])
    assert (ana.status, ben.status) == ("offered", "waiting")
    with app.app_context():
        from widget_server.fan.links import waitlist_url

        path = waitlist_url("kc-chiefs", ana.id).removeprefix("http://127.0.0.1:8000")
    action, hidden = form_fields(client.get(path).get_data(as_text=True), "/decline")
    assert client.post(action, data=hidden).status_code == 303
    run_jobs(app)
    assert [e.status for e in entries(app, ids["trip"])] == ["declined", "offered"]
    # Past departure, offers stop: the held seat is released and the line closed.
    with app.app_context(), db.transaction() as session:
        departs = session.get(Trip, ids["trip"]).departs_at
        waitlist.refresh_waitlist(session, ids["trip"], now=departs + timedelta(minutes=1))
    assert [e.status for e in entries(app, ids["trip"])] == ["declined", "closed"]
    assert trip_seats(app, ids["trip"]) == (7, 0)


def test_capacity_raised_goes_to_the_line_first(app, client, full_trip):
    ids = full_trip
    assert join(client, ids, "Big", seats=3).status_code == 201
    assert join(client, ids, "Solo").status_code == 201
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    assert api.patch(f"/v1/trips/{ids['trip']}", json={"capacity": 9}).status_code == 200
    run_jobs(app)
    # One new seat: Big (3) does not fit and keeps its place; Solo, next who fits, gets it.
    assert [(e.name, e.status) for e in entries(app, ids["trip"])] == [
        ("Big", "waiting"),
        ("Solo", "offered"),
    ]
    # Nobody else may buy meanwhile, although the widget is asked directly.
    response = client.post(
        f"/w/kc-chiefs/api/trips/{ids['trip']}/pledges",
        json={
            "stop_id": ids["stop"],
            "seats": 1,
            "name": "Sneaky",
            "email": "sneaky@example.com",
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 409 and response.json["type"].endswith("/sold-out")


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_waitlist_emails_in_the_fans_language(app, client, settings, full_trip, locale):
    from tests.unit.email_helpers import outbox_file, parse, parts

    words = {
        "en": ("You are on the waitlist", "Seats for", "It is yours if you take it before"),
        "es": ("Estás en la lista de espera", "Te guardamos plazas", "Es tuya si la tomas"),
        "fr": ("Vous êtes sur la liste d’attente", "vous sont réservées", "Elle est à vous"),
    }[locale]
    body = {"stop_id": full_trip["stop"], "seats": 1, "name": "Lu", "email": "lu@example.com"}
    url = f"/w/kc-chiefs/api/trips/{full_trip['trip']}/waitlist"
    assert client.post(url, json={**body, "locale": locale}).status_code == 201
    api = ApiSession(client, issue_token(app, full_trip["partner_id"]))
    api.post(f"/v1/pledges/{full_trip['paid'][0]}/cancel")
    run_jobs(app)
    (joined,) = emails_of_kind(app, "waitlist_joined")
    (offer,) = emails_of_kind(app, "waitlist_offer")
    subject, text, _html = parts(parse(outbox_file(settings, joined.id).read_bytes()))
    assert words[0] in subject and "Chiefs vs. Raiders" in subject
    subject, text, markup = parts(parse(outbox_file(settings, offer.id).read_bytes()))
    assert words[1] in subject and words[2] in text
    assert "/w/kc-chiefs/waitlist/" in text and f'<html lang="{locale}">' in markup


def test_partner_lists_the_waitlist_in_order(app, client, full_trip):
    ids = full_trip
    for name, seats in (("Ana", 1), ("Ben", 2), ("Cy", 1)):
        assert join(client, ids, name, seats=seats).status_code == 201
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    api.post(f"/v1/pledges/{ids['paid'][0]}/cancel")  # one seat frees: Ana's offer
    run_jobs(app)
    listed = api.get(f"/v1/trips/{ids['trip']}/waitlist")
    assert listed.status_code == 200, listed.json
    rows = [(e["name"], e["seats"], e["status"], e["position"]) for e in listed.json["data"]]
    assert rows == [("Ana", 1, "offered", None), ("Ben", 2, "waiting", 1), ("Cy", 1, "waiting", 2)]
    assert listed.json["data"][0]["offer_expires_at"].endswith("Z")
    assert listed.json["data"][1]["email"] == "ben@example.com"
    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-club").id
    stranger = ApiSession(client, issue_token(app, other))
    assert stranger.get(f"/v1/trips/{ids['trip']}/waitlist").status_code == 404


def test_join_from_the_sold_out_trip_page_without_javascript(app, client, full_trip):
    ids = full_trip
    page = f"/w/kc-chiefs/trips/{ids['trip']}"
    assert 'id="waitlist-title"' in client.get(page).get_data(as_text=True)
    bad = submit_form(client, page, "/waitlist", {"seats": "0", "name": "", "email": "x"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'aria-describedby="error-seats" aria-invalid="true"' in body
    joined = submit_form(
        client,
        page,
        "/waitlist",
        {"stop_id": ids["stop"], "seats": "2", "name": "Dee Fan", "email": "dee@example.com"},
    )
    assert joined.status_code == 303 and "/w/kc-chiefs/waitlist/" in joined.headers["Location"]
    (entry,) = entries(app, ids["trip"])
    assert (entry.name, entry.seats, entry.status) == ("Dee Fan", 2, "waiting")
    forged = client.post(f"{page}/waitlist", data={"stop_id": ids["stop"], "seats": "1"})
    assert forged.status_code in (400, 403)


def test_no_waitlist_form_while_seats_remain(app, client):
    with app.app_context(), db.transaction() as session:
        trip = make_trip(session, make_partner(session, "kc-chiefs"))
        trip_id = trip.id
    html = client.get(f"/w/kc-chiefs/trips/{trip_id}").get_data(as_text=True)
    assert 'id="waitlist-title"' not in html and 'id="stop-request-title"' in html
