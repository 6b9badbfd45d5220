"""What fans read matches the state they are in: a running bus no longer "confirms at", a full
bus asks for stops only from fans with seats, the share box promises what a friend can still
get, a withdrawn pledge is called withdrawn, counts use each language's plural forms; and the
two steps that cannot be undone (withdraw a pledge, leave a waitlist) ask first, without
JavaScript."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import confirmed_trip
from tests.widget_helpers import form_fields
from widget_server.extensions import db
from widget_server.fan.links import manage_token, waitlist_token
from widget_server.models import Trip, WaitlistEntry


def html(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def set_capacity(app, trip_id: str, capacity: int) -> None:
    with app.app_context(), db.transaction() as session:
        session.get(Trip, trip_id).capacity = capacity


@pytest.fixture
def full(app):
    """A confirmed trip whose three seats are all paid (min_riders 3, capacity 3)."""
    ids = confirmed_trip(app)
    set_capacity(app, ids["trip"], 3)
    with app.app_context():
        ids["token"] = manage_token(ids["pledges"][0])
        ids["event"] = db.session.get(Trip, ids["trip"]).event_id
    return ids


def test_a_running_full_bus_says_so_everywhere(client, full):
    base = "/w/kc-chiefs"
    pages = {
        "event": html(client, f"{base}/events/{full['event']}"),
        "trip": html(client, f"{base}/trips/{full['trip']}"),
        "manage": html(client, f"{base}/manage/{full['token']}"),
        "public": html(client, f"/t/kc-chiefs/{full['trip']}"),
    }
    for name, page in pages.items():
        assert "3 of 3 seats pledged" in page, name
        assert "confirms at" not in page, name
    trip_page = pages["trip"]
    assert "Have seats? Ask for a stop nearer you" in trip_page
    assert ">Ask for a stop<" not in trip_page
    manage = pages["manage"]
    assert "the sooner the bus runs" not in manage
    assert "friends who open this link can join its waitlist" in manage


def test_a_running_bus_with_seats_left_invites_friends_to_them(app, client):
    ids = confirmed_trip(app)
    with app.app_context():
        token = manage_token(ids["pledges"][0])
    page = html(client, f"/w/kc-chiefs/manage/{token}")
    assert "3 of 10 seats pledged" in page and "confirms at" not in page
    assert "It runs, and seats are left for them." in page
    assert "the sooner the bus runs" not in page
    assert "Join me while seats last." in page  # the Web Share sheet's words


def test_live_progress_words_follow_the_trip_and_its_plural(client, full):
    page = html(client, f"/w/kc-chiefs/events/{full['event']}?locale=fr")
    found = re.search(r'<script type="application/json" id="rp-data">(.*?)</script>', page, re.S)
    texts = json.loads(found.group(1))["live"]["texts"]["progress"]
    assert texts == {full["trip"]: "{pledged} places réservées sur {capacity}"}


def test_waitlist_counts_use_plural_forms(app, client, full):
    url = f"/w/kc-chiefs/api/trips/{full['trip']}/waitlist"
    for seats, name in ((1, "Uno"), (2, "Dos")):
        body = {"stop_id": full["stops"][0], "seats": seats, "name": name}
        response = client.post(url, json={**body, "email": f"{name}@example.com", "locale": "es"})
        assert response.status_code == 201, response.json
    with app.app_context():
        entries = db.session.scalars(select(WaitlistEntry).order_by(WaitlistEntry.position))
        one, two = (waitlist_token(entry.id) for entry in entries)
    assert "1 plaza, recogida en Stop 1." in html(client, f"/w/kc-chiefs/waitlist/{one}")
    assert "2 plazas, recogida en Stop 1." in html(client, f"/w/kc-chiefs/waitlist/{two}")
    assert "1 seat, pick-up at" in html(client, f"/w/kc-chiefs/waitlist/{one}?locale=en")
    assert "seat(s)" not in html(client, f"/w/kc-chiefs/waitlist/{two}?locale=en")


def test_leaving_the_waitlist_asks_first_and_works_without_javascript(app, client, full):
    url = f"/w/kc-chiefs/api/trips/{full['trip']}/waitlist"
    body = {"stop_id": full["stops"][0], "seats": 2, "name": "Lee", "email": "lee@example.com"}
    assert client.post(url, json=body).status_code == 201
    with app.app_context():
        entry = db.session.scalars(select(WaitlistEntry)).one()
        token = waitlist_token(entry.id)
    page = f"/w/kc-chiefs/waitlist/{token}"
    assert f'href="{page}/leave"' in html(client, page)
    question = html(client, f"{page}/leave")
    assert "Leave the waitlist?" in question and "2 seats, pick-up at Stop 1." in question
    assert f'href="{page}"' in question  # "No, keep my place"
    with app.app_context():
        assert db.session.get(WaitlistEntry, entry.id).status == "waiting"  # only asked
    action, hidden = form_fields(question, "/leave")
    left = client.post(action, data=hidden)
    assert left.status_code == 303 and left.headers["Location"].endswith("done=left")
    assert "You left the waitlist. Nothing was charged." in html(client, left.headers["Location"])
    with app.app_context():
        assert db.session.get(WaitlistEntry, entry.id).status == "closed"
    again = client.get(f"{page}/leave")
    assert again.status_code == 303 and again.headers["Location"].endswith(page)
    # Another site's post, or a forged form, changes nothing.
    assert client.post(action, data={"form_token": "forged"}).status_code == 403


def test_a_withdrawn_pledge_is_called_withdrawn(app, client):
    with app.app_context(), db.transaction() as session:
        trip = make_trip(session, make_partner(session, "kc-chiefs"))
        stop = trip.stops[0].id
    response = client.post(
        f"/w/kc-chiefs/api/trips/{trip.id}/pledges",
        json={
            "stop_id": stop,
            "seats": 1,
            "name": "Wes",
            "email": "wes@example.com",
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 201
    token = response.json["manage_url"].rsplit("/", 1)[1]
    question = html(client, f"/w/kc-chiefs/manage/{token}/cancel")
    action, hidden = form_fields(question, "/cancel")
    assert client.post(action, data=hidden).status_code == 303
    page = html(client, f"/w/kc-chiefs/manage/{token}")
    assert "This pledge is withdrawn" in page
    words = re.sub(r"<[^>]+>", " ", page.split("<main")[1].split("</main>")[0])
    assert "cancel" not in words.lower()
    assert 'data-status="canceled">Withdrawn<' in page


def test_driver_counts_come_in_every_plural_form(client, app):
    ids = confirmed_trip(app)
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    url = api.post(f"/v1/trips/{ids['trip']}/driver_link").json["url"]
    page = html(client, url.removeprefix("http://127.0.0.1:8000"))
    found = re.search(r'<script type="application/json" id="dr-data">(.*?)</script>', page, re.S)
    texts = json.loads(found.group(1))["texts"]
    assert texts["seats"] == {
        "one": "{seats} seat",
        "many": "{seats} seats",
        "other": "{seats} seats",
    }
    assert texts["pending"]["one"] == "{count} check-in waiting to be sent"
    assert texts["pending"]["other"] == "{count} check-ins waiting to be sent"
    assert "(s)" not in json.dumps(texts)
