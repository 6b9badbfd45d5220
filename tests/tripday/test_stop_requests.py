"""Stops from the riders: fans ask for a stop, the partner sees the requests counted per place,
adds the stop, the fans who asked are emailed and move their pledge to it."""

from datetime import timedelta

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import add_union_station, confirmed_trip, emails_of_kind, pledge_row
from tests.widget_helpers import submit_form
from widget_server.domain.stop_requests import place_key
from widget_server.extensions import db
from widget_server.fan.links import manage_token
from widget_server.models import Pledge, StopRequest, Trip
from widget_server.notifications.render import render_email


def ask(client, trip_id, place, email, address="1 Union Station, Kansas City", ip=None):
    """A fan asks, from the network `ip` (default: one address per email's first letter)."""
    ip = ip or f"198.51.100.{ord(email[0].lower())}"
    return client.post(
        f"/w/kc-chiefs/api/trips/{trip_id}/stop_requests",
        json={"place": place, "address": address, "email": email},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_place_key_folds_spelling():
    assert place_key("  Union  Station. ") == place_key("union station") == "union station"
    assert place_key("Café Plaza") == place_key("cafe plaza")


def test_requested_stop_added_by_the_partner_lets_the_fans_move(app, client):
    ids = confirmed_trip(app)  # ana, bo, cy paid
    trip_id = ids["trip"]
    assert ask(client, trip_id, "Union Station", "ana@example.com").status_code == 201
    again = ask(client, trip_id, "union  station.", "ANA@example.com")
    assert again.status_code == 201 and again.json["stop_request"]["count"] == 1  # once a fan
    assert (
        ask(client, trip_id, "Union station", "bo@example.com").json["stop_request"]["count"] == 2
    )
    assert ask(client, trip_id, "UNION STATION", "dee@example.com").status_code == 201
    assert ask(client, trip_id, "Power & Light", "cy@example.com").status_code == 201

    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    listed = api.get(f"/v1/trips/{trip_id}/stop_requests")
    assert listed.status_code == 200, listed.json
    places = listed.json["data"]
    assert [(p["place"], p["count"]) for p in places] == [
        ("Union Station", 3),
        ("Power & Light", 1),
    ]
    assert places[0]["stop_id"] is None

    added = add_union_station(app, api, trip_id)
    assert added.status_code == 201, added.json
    new_stop = next(s for s in added.json["stops"] if s["name"] == "Union Station")
    assert len(added.json["stops"]) == 3
    after = api.get(f"/v1/trips/{trip_id}/stop_requests").json["data"]
    assert after[0]["stop_id"] == new_stop["id"] and after[1]["stop_id"] is None

    # The fans who asked and have a live pledge are told (dee has no pledge, cy asked elsewhere).
    emails = emails_of_kind(app, "stop_added")
    with app.app_context():
        told = {db.session.get(Pledge, e.pledge_id).email for e in emails}
        rendered = render_email(emails[0], db.session.get(Pledge, emails[0].pledge_id))
    assert told == {"ana@example.com", "bo@example.com"}
    assert "30 W Pershing Rd" in rendered.text and "now on the route" in rendered.text

    # Dee asked without pledging: she is told too, with the trip page and the new stop chosen.
    (asked,) = emails_of_kind(app, "stop_added_asked")
    assert (asked.to_address, asked.pledge_id) == ("dee@example.com", None)
    with app.app_context():
        request = db.session.get(StopRequest, asked.stop_request_id)
        invite = render_email(asked, None, stop_request=request)
    assert "now on the route" in invite.text and "30 W Pershing Rd" in invite.text
    assert f"/t/kc-chiefs/{trip_id}?stop={new_stop['id']}&locale=en" in invite.text
    assert "Hello," in invite.text and "Total:" not in invite.text
    run_jobs(app)
    assert [e.status for e in emails_of_kind(app, "stop_added_asked")] == ["sent"]

    # ... and move their pledge to the new stop from the manage page.
    ana = ids["pledges"][0]
    with app.app_context():
        manage = f"/w/kc-chiefs/manage/{manage_token(ana)}"
    assert new_stop["id"] in client.get(manage).get_data(as_text=True)
    moved = submit_form(client, manage, "/stop", {"stop_id": new_stop["id"]})
    assert moved.status_code == 303
    assert pledge_row(app, ana).stop_id == new_stop["id"]


def test_stop_requests_refuse_bad_input_and_other_partners(app, client):
    ids = confirmed_trip(app)
    trip_id = ids["trip"]
    bad = ask(client, trip_id, "", "not-an-email")
    assert bad.status_code == 422 and {"place", "email"} <= set(bad.json["errors"])
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        existing = trip.stops[0].name
        soon = (trip.stops[-1].departs_at + timedelta(minutes=5)).isoformat()
    same = ask(client, trip_id, existing.upper(), "ana@example.com")
    assert same.status_code == 422 and "place" in same.json["errors"]
    assert ask(client, "trp_nope", "Somewhere", "ana@example.com").status_code == 404

    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-club")
        draft = make_trip(session, other, status="draft")
        other_id, draft_id = other.id, draft.id
    stranger = ApiSession(client, issue_token(app, other_id))
    assert stranger.get(f"/v1/trips/{trip_id}/stop_requests").status_code == 404
    assert (
        stranger.post(
            f"/v1/trips/{trip_id}/stops",
            json={"name": "X", "address": "Y", "departs_at": soon},
        ).status_code
        == 404
    )
    # A draft trip is not requestable (not public).
    assert (
        client.post(
            f"/w/other-club/api/trips/{draft_id}/stop_requests",
            json={"place": "A", "address": "B", "email": "a@example.com"},
        ).status_code
        == 404
    )
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    with app.app_context():
        starts = db.session.get(Trip, trip_id).event.starts_at
        late_time = (starts + timedelta(minutes=1)).isoformat()
    late = api.post(
        f"/v1/trips/{trip_id}/stops",
        json={"name": "Late Stop", "address": "Y", "departs_at": late_time},
    )
    assert late.status_code == 422 and "departs_at" in late.json["errors"]


def test_the_trip_page_form_works_without_javascript(app, client):
    ids = confirmed_trip(app)
    page = f"/w/kc-chiefs/trips/{ids['trip']}"
    sent = submit_form(
        client,
        page,
        "/stop_requests",
        {"place": "Power & Light", "address": "1 Grand Blvd", "email": "ana@example.com"},
    )
    assert sent.status_code == 303
    html = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "1 fan has asked for a stop at Power &amp; Light" in html
    bad = submit_form(client, page, "/stop_requests", {"place": "", "email": "nope"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="stop-place"' in body and 'aria-invalid="true"' in body
    forged = client.post(
        f"{page}/stop_requests", data={"place": "X", "address": "Y", "email": "a@example.com"}
    )
    assert forged.status_code in (400, 403)
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    (place,) = api.get(f"/v1/trips/{ids['trip']}/stop_requests").json["data"]
    assert (place["place"], place["count"]) == ("Power & Light", 1)


def test_fans_who_asked_without_pledging_are_told_in_their_language(app, client):
    ids = confirmed_trip(app)
    trip_id = ids["trip"]
    for email, locale in (("eva@example.com", "es"), ("flo@example.com", "fr")):
        answer = client.post(
            f"/w/kc-chiefs/api/trips/{trip_id}/stop_requests",
            json={"place": "Plaza Mayor", "address": "1 Plaza", "email": email, "locale": locale},
        )
        assert answer.status_code == 201, answer.json
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    with app.app_context():
        departs = db.session.get(Trip, trip_id).stops[-1].departs_at + timedelta(minutes=5)
    added = api.post(
        f"/v1/trips/{trip_id}/stops",
        json={"name": "plaza mayor", "address": "1 Plaza", "departs_at": departs.isoformat()},
    )
    assert added.status_code == 201, added.json
    emails = {e.to_address: e for e in emails_of_kind(app, "stop_added_asked")}
    assert set(emails) == {"eva@example.com", "flo@example.com"}
    assert emails_of_kind(app, "stop_added") == []  # nobody who asked has a pledge
    with app.app_context():
        texts = {
            address: render_email(
                email, None, stop_request=db.session.get(StopRequest, email.stop_request_id)
            )
            for address, email in emails.items()
        }
    assert texts["eva@example.com"].locale == "es" and "Hola," in texts["eva@example.com"].text
    assert "Bonjour," in texts["flo@example.com"].text
    assert "locale=fr" in texts["flo@example.com"].text


def test_stop_requests_count_networks_and_made_up_emails_are_not_all_written_to(app, client):
    """Issue 19: six made-up emails from one address count once, and only the first three of
    them are emailed when the stop is added; fan+1@ is fan@ asking again."""
    ids = confirmed_trip(app)
    trip_id = ids["trip"]
    app.config["RATELIMIT_FAN"] = "1000 per minute"
    for n in range(6):
        answer = ask(client, trip_id, "Union Station", f"made{n}@example.com", ip="203.0.113.7")
        assert answer.status_code == 201 and answer.json["stop_request"]["count"] == 1
    same_fan = ask(client, trip_id, "Union Station", "made0+again@example.com", ip="203.0.113.8")
    assert same_fan.json["stop_request"]["count"] == 1  # the first request of made0, returned
    v6 = ask(client, trip_id, "Union Station", "v6@example.com", ip="2001:db8:1:2::10")
    v6_again = ask(client, trip_id, "Union Station", "w6@example.com", ip="2001:db8:1:2::99")
    assert v6.json["stop_request"]["count"] == 2 == v6_again.json["stop_request"]["count"]
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    assert api.get(f"/v1/trips/{trip_id}/stop_requests").json["data"][0]["count"] == 2
    added = add_union_station(app, api, trip_id)
    assert added.status_code == 201, added.json
    told = sorted(e.to_address for e in emails_of_kind(app, "stop_added_asked"))
    assert told == [
        "made0@example.com",
        "made1@example.com",
        "made2@example.com",
        "v6@example.com",
        "w6@example.com",
    ]
