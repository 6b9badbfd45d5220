"""One fan (one normalised email) holds at most the partner's `max_seats_per_fan` seats on a
trip, over all their pledges, through the JSON API and the HTML form alike."""

import threading

import pytest

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner, make_trip
from tests.functional.test_widget_pages import fan_input
from tests.widget_helpers import submit_form
from widget_server.extensions import db
from widget_server.models import Pledge, Trip


@pytest.fixture
def trip(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs", max_seats_per_fan=4)
        trip = make_trip(session, partner, capacity=40, min_riders=30)
        return {"id": trip.id, "stop": trip.stops[0].id, "partner": partner.id}


def pledge(client, trip, seats, email="pat@example.com"):
    return client.post(
        f"/w/kc-chiefs/api/trips/{trip['id']}/pledges",
        json={
            "stop_id": trip["stop"],
            "seats": seats,
            "name": "Pat Fan",
            "email": email,
            "payment_method": "pm_card_visa",
        },
    )


def test_the_cap_counts_every_live_pledge_of_one_email(app, client, trip):
    assert pledge(client, trip, 3).status_code == 201
    refused = pledge(client, trip, 2, email="PAT@Example.COM")  # the same fan
    assert refused.status_code == 409
    assert refused.json["type"].endswith("/seat-limit")
    assert "at most 4" in refused.json["detail"] and "seats" in refused.json["errors"]
    assert pledge(client, trip, 1, email="Pat@EXAMPLE.com").status_code == 201
    assert pledge(client, trip, 1).status_code == 409
    assert pledge(client, trip, 4, email="sam@example.com").status_code == 201  # another fan
    with app.app_context():
        assert db.session.get(Trip, trip["id"]).seats_pledged == 8


def test_plus_addresses_and_gmail_dots_are_one_fan(app, client, trip):
    """Issue 19: fan+1@x and fan@x share one cap (a +tag reaches the same mailbox), and so
    do Gmail's dotted spellings."""
    assert pledge(client, trip, 3, email="pat+1@example.com").status_code == 201
    refused = pledge(client, trip, 2, email="pat+2@example.com")
    assert refused.status_code == 409 and refused.json["type"].endswith("/seat-limit")
    assert pledge(client, trip, 2, email="pat@example.com").status_code == 409
    assert pledge(client, trip, 1, email="Pat@example.com").status_code == 201
    assert pledge(client, trip, 4, email="p.at@gmail.com").status_code == 201
    assert pledge(client, trip, 1, email="pat+x@googlemail.com").status_code == 409
    assert pledge(client, trip, 1, email="p.at@example.com").status_code == 201  # dots count
    with app.app_context():
        assert db.session.get(Trip, trip["id"]).seats_pledged == 9


def test_a_withdrawn_pledge_frees_the_fans_seats(app, client, trip):
    first = pledge(client, trip, 4)
    assert first.status_code == 201
    token = first.json["manage_url"].rsplit("/", 1)[-1]
    assert pledge(client, trip, 1).status_code == 409
    assert client.post(f"/w/kc-chiefs/api/manage/{token}/cancel", json={}).status_code == 200
    assert pledge(client, trip, 4).status_code == 201


def test_the_html_form_shows_the_cap_in_the_fans_words(app, client, trip):
    assert pledge(client, trip, 4).status_code == 201
    url = f"/w/kc-chiefs/trips/{trip['id']}/pledge"
    team = {"stops": [trip["stop"], trip["stop"]]}
    response = submit_form(client, url, "/pledge", fan_input(team, seats="1"))
    assert response.status_code == 409
    assert "most seats one fan may take" in response.get_data(as_text=True)


def test_the_cap_holds_when_one_fan_races_themself(app, live_server, trip):
    import requests

    app.config["RATELIMIT_FAN"] = "100 per minute"  # the cap, not the rate limit, is tested
    results = []

    def run():
        response = requests.post(
            f"{live_server.url}/w/kc-chiefs/api/trips/{trip['id']}/pledges",
            json={
                "stop_id": trip["stop"],
                "seats": 3,
                "name": "Pat Fan",
                "email": "pat@example.com",
                "payment_method": "pm_card_visa",
            },
            timeout=30,
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [201] + [409] * 5
    with app.app_context():
        assert db.session.query(Pledge).count() == 1


def test_partners_set_the_cap_through_the_api(app, client, trip):
    api = ApiSession(client, issue_token(app, trip["partner"]))
    assert api.get("/v1/partner").json["max_seats_per_fan"] == 4
    assert api.patch("/v1/partner", json={"max_seats_per_fan": 2}).json["max_seats_per_fan"] == 2
    for bad in (0, 101, "5", 2.5, None):
        response = api.patch("/v1/partner", json={"max_seats_per_fan": bad})
        assert response.status_code == 422 and "max_seats_per_fan" in response.json["errors"]
    assert pledge(client, trip, 3).status_code == 409


def test_the_default_cap_is_ten(app):
    from widget_server.domain.partners import PartnerSchema

    assert PartnerSchema().load({"slug": "x", "name": "X"})["max_seats_per_fan"] == 10
