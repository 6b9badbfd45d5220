"""The widget's pages without a browser: what they say, their headers, and their forms (which
work without JavaScript and refuse cross-site posts). The browser tests are in tests/browser/."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_event, make_partner, make_trip
from tests.widget_helpers import form_fields, submit_form
from widget_server.domain.pledges import trip_outcomes
from widget_server.extensions import db
from widget_server.models import DemandSignal, Pledge, Trip
from widget_server.models.types import utcnow

HOST = "https://www.chiefs.example"


@pytest.fixture
def team(app):
    """A partner embedding from HOST, with a game and an open trip (40 seats, confirms at 20)."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(
            session,
            "kc-chiefs",
            allowed_origins=[HOST, "http://localhost:9000"],
            support_email="fans@chiefs.example",
        )
        trip = make_trip(session, partner, stops=2)
        ids = {"trip": trip.id, "event": trip.event_id, "stops": [s.id for s in trip.stops]}
    ids["base"] = "/w/kc-chiefs"
    return ids


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="rp-data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def html_of(response) -> str:
    return response.get_data(as_text=True)


def pledge_form(client, team):
    return f"{team['base']}/trips/{team['trip']}/pledge"


def fan_input(team, **fields) -> dict:
    values = {
        "stop_id": team["stops"][1],
        "seats": "2",
        "name": "Pat Fan",
        "email": "pat@example.com",
        "card_number": "4242 4242 4242 4242",
    }
    values.update(fields)
    return values


def test_every_page_names_its_partner_origins_in_frame_ancestors_and_sets_no_cookie(client, team):
    paths = [
        "/",
        f"/events/{team['event']}",
        f"/trips/{team['trip']}",
        f"/trips/{team['trip']}/pledge",
        f"/events/{team['event']}/request",
        "/trips/trp_nothing",
    ]
    for path in paths:
        response = client.get(team["base"] + path)
        policy = response.headers["Content-Security-Policy"]
        assert f"frame-ancestors {HOST} http://localhost:9000" in policy, path
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "Set-Cookie" not in response.headers, path
        assert "X-Frame-Options" not in response.headers
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert client.get(team["base"] + "/trips/trp_nothing").status_code == 404


def test_a_partner_without_allowed_origins_is_framed_only_by_the_service_itself(app, client):
    with app.app_context(), db.transaction() as session:
        make_partner(session, "no-sites")
    response = client.get("/w/no-sites/")
    assert response.status_code == 200
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_an_unknown_partner_is_a_404_page_only_the_service_may_frame(client):
    response = client.get("/w/nobody/", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_the_host_origin_is_trusted_only_when_the_partner_allows_it(client, team):
    allowed = client.get(f"{team['base']}/events/{team['event']}?host={HOST}")
    assert page_data(html_of(allowed))["host_origin"] == HOST
    # Links and forms carry it on, so every page inside the iframe knows where to post.
    assert f"/trips/{team['trip']}?host=https://www.chiefs.example" in html_of(allowed)
    for other in ("https://evil.example", "https://www.chiefs.example/path", "javascript:x"):
        response = client.get(
            f"{team['base']}/events/{team['event']}", query_string={"host": other}
        )
        assert page_data(html_of(response))["host_origin"] is None, other
        assert "evil.example" not in html_of(response).split('id="rp-data"')[0]


def test_trips_show_progress_price_deadline_and_seats_left(client, team):
    html = html_of(client.get(f"{team['base']}/events/{team['event']}"))
    assert "0 of 40 seats pledged, confirms at 20" in html
    assert "$35.00 per seat" in html and "Seats left" in html and "Pledge by" in html
    assert "Open for pledges" in html and "(in 10 days)" in html
    assert "Times are shown in Central Standard Time." in html or "Central Daylight" in html
    data = page_data(html)
    assert data["live"]["poll"] == f"/w/kc-chiefs/api/trips?event_id={team['event']}"
    assert data["live"]["texts"]["progress"] == {
        team["trip"]: "{pledged} of {capacity} seats pledged, confirms at {min}"
    }


def test_trip_page_lists_stops_and_tells_the_host_page_it_was_viewed(client, team):
    html = html_of(client.get(f"{team['base']}/trips/{team['trip']}"))
    assert "Bus from Wichita" in html and "Stop 1" in html and "2 Main St" in html
    assert "Pledge seats" in html and "Bus operated by Coach Co." in html
    assert page_data(html)["emit"] == [
        {"name": "trip.viewed", "detail": {"trip_id": team["trip"], "event_id": team["event"]}}
    ]


@pytest.mark.parametrize(
    ("change", "label", "words"),
    [
        ("sold_out", "Sold out", "Every seat on this bus is taken."),
        ("confirmed", "Confirmed: this bus runs", "Enough fans pledged"),
        ("failed", "Did not run", "Nobody was charged."),
        ("canceled", "Canceled", "The organiser canceled this bus."),
        ("closed", "Pledges closed", "no longer takes pledges"),
    ],
)
def test_each_trip_state_is_said_in_words(app, client, team, change, label, words):
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, team["trip"])
        if change == "sold_out":
            trip.min_riders, trip.seats_pledged = 40, 40
        elif change == "confirmed":
            trip.status, trip.confirmed_at = "confirmed", utcnow()
        elif change == "failed":
            trip.pledge_deadline = utcnow() - timedelta(minutes=1)
            session.flush()
            trip_outcomes.fail_trip_if_overdue(session, trip.id)
        elif change == "canceled":
            trip_outcomes.cancel_trip(session, trip, actor="test")
        else:
            trip.pledge_deadline = utcnow() - timedelta(minutes=1)
    html = html_of(client.get(f"{team['base']}/trips/{team['trip']}"))
    assert label in html and words in html
    assert f'data-state="{change}"' in html
    takes_pledges = change == "confirmed"
    assert ('href="/w/kc-chiefs/trips/' in html and "/pledge" in html) == takes_pledges
    form = client.get(pledge_form(client, team))
    assert form.status_code == (200 if takes_pledges else 303)


def test_pledge_without_javascript_ends_on_the_confirmation_with_the_manage_link(app, client, team):
    response = submit_form(client, pledge_form(client, team), "/pledge", fan_input(team))
    assert response.status_code == 303
    assert "/w/kc-chiefs/pledged/" in response.headers["Location"]
    html = html_of(client.get(response.headers["Location"]))
    assert "Pledge received. Thank you, Pat Fan!" in html
    assert "Nothing is charged yet." in html and "$70.00" in html
    assert 'value="http://127.0.0.1:8000/w/kc-chiefs/manage/' in html
    with app.app_context():
        pledge = db.session.scalar(select(Pledge))
        assert (pledge.seats, pledge.stop_id, pledge.status) == (2, team["stops"][1], "pledged")
        assert pledge.payment_method_ref == "pm_card_visa" and pledge.locale == "en"


def test_pledge_form_errors_are_shown_per_field_and_keep_what_the_fan_typed(client, team):
    bad = fan_input(team, name="", email="not-an-email", seats="11", card_number="1234")
    response = submit_form(client, pledge_form(client, team), "/pledge", bad)
    assert response.status_code == 422
    html = html_of(response)
    assert "Some fields need your attention." in html
    assert "Enter your name." in html and "Enter a valid email address" in html
    assert "Choose from 1 to 10 seats." in html and "Enter one of the test card numbers" in html
    assert 'value="not-an-email"' in html and 'aria-invalid="true"' in html


def test_a_declined_card_and_a_sold_out_trip_are_explained(app, client, team):
    declined = submit_form(
        client,
        pledge_form(client, team),
        "/pledge",
        fan_input(team, card_number="4000000000000002"),
    )
    assert declined.status_code == 422
    assert "Your card was declined. Try another card." in html_of(declined)
    with app.app_context(), db.transaction() as session:
        session.get(Trip, team["trip"]).seats_pledged = 39
    sold_out = submit_form(client, pledge_form(client, team), "/pledge", fan_input(team))
    assert sold_out.status_code == 409
    assert "not enough seats left" in html_of(sold_out)


def test_form_posts_need_a_fresh_token_for_that_form_and_this_site(app, client, team):
    app.config["RATELIMIT_FAN"] = "100 per minute"  # six tries with one email, on purpose
    form = pledge_form(client, team)
    action, hidden = form_fields(html_of(client.get(form)), "/pledge")
    data = {**hidden, **fan_input(team)}
    missing = client.post(action, data=fan_input(team))
    assert missing.status_code == 403
    assert "This form expired. Please send it again." in html_of(missing)
    # A fresh token comes with the re-rendered form.
    assert form_fields(html_of(missing), "/pledge")[1]["form_token"]
    forged = client.post(action, data={**data, "form_token": hidden["form_token"] + "x"})
    assert forged.status_code == 403
    request_page = f"{team['base']}/events/{team['event']}/request"
    other_form = form_fields(html_of(client.get(request_page)), "/request")[1]["form_token"]
    assert client.post(action, data={**data, "form_token": other_form}).status_code == 403
    cross_site = client.post(action, data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    other_origin = client.post(action, data=data, headers={"Origin": "https://evil.example"})
    assert other_origin.status_code == 403
    same = client.post(action, data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 303


def test_an_expired_form_token_is_refused(app, client, team, monkeypatch):
    from widget_server.fan import security

    action, hidden = form_fields(html_of(client.get(pledge_form(client, team))), "/pledge")
    monkeypatch.setattr(security, "FORM_TOKEN_MAX_AGE", -1)
    response = client.post(action, data={**hidden, **fan_input(team)})
    assert response.status_code == 403


def api_pledge_body(team, seats: int = 1) -> dict:
    """A pledge as the widget's JavaScript sends it to the JSON API."""
    return {
        "stop_id": team["stops"][0],
        "seats": seats,
        "name": "Pat",
        "email": "pat@example.com",
        "payment_method": "pm_card_visa",
    }


def test_the_json_api_refuses_writes_the_browser_says_are_cross_site(client, team):
    url = f"{team['base']}/api/trips/{team['trip']}/pledges"
    body = api_pledge_body(team)
    refused = client.post(url, json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and refused.json["type"].endswith("/cross-site")
    # What a cross-site <form> could send is not JSON: refused before anything happens.
    as_form = client.post(url, data=json.dumps(body), content_type="text/plain")
    assert as_form.status_code == 415
    ours = client.post(url, json=body, headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"})
    assert ours.status_code == 201


def test_widget_api_gets_answer_304_when_nothing_changed(client, team):
    url = f"{team['base']}/api/trips?event_id={team['event']}"
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=1, stale-while-revalidate=5"
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    client.post(f"{team['base']}/api/trips/{team['trip']}/pledges", json=api_pledge_body(team, 3))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["data"][0]["seats_pledged"] == 3


def test_request_a_trip_without_javascript(app, client, team):
    page = f"{team['base']}/events/{team['event']}/request"
    empty = submit_form(client, page, "/request", {"origin": "", "email": "x"})
    assert empty.status_code == 422
    assert "Enter a city, region or postal code." in html_of(empty)
    done = submit_form(client, page, "/request", {"origin": "Topeka", "email": "a@example.com"})
    assert done.status_code == 303
    html = html_of(client.get(done.headers["Location"]))
    assert "Thanks, your request is in." in html
    assert "1 fan has asked for a bus from Topeka." in html
    with app.app_context():
        assert db.session.scalar(select(DemandSignal.origin)) == "Topeka"


def test_partner_and_fan_strings_are_escaped_everywhere(app, client):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "xss", name='<script>alert("p")</script>')
        event = make_event(session, partner, title="<img src=x onerror=alert(1)>")
        trip = make_trip(session, partner, event, origin={"name": "</script><b>", "region": None})
        stop = trip.stops[0].id
    pages = ["/w/xss/", f"/w/xss/events/{event.id}", f"/w/xss/trips/{trip.id}"]
    for path in pages:
        html = html_of(client.get(path))
        assert (
            "<script>alert" not in html and "<img src=x" not in html and "</script><b>" not in html
        )
        assert "&lt;script&gt;alert" in html
    response = submit_form(
        client,
        f"/w/xss/trips/{trip.id}/pledge",
        "/pledge",
        {
            "stop_id": stop,
            "seats": "1",
            "name": '"><svg onload=alert(1)>',
            "email": "e@example.com",
            "card_number": "4242424242424242",
        },
    )
    html = html_of(client.get(response.headers["Location"]))
    assert "<svg onload" not in html and "&#34;&gt;&lt;svg onload=alert(1)&gt;" in html


def test_locale_from_the_embed_option_then_the_browser_then_the_partner(app, client, team):
    url = f"{team['base']}/events/{team['event']}"
    spanish = html_of(client.get(url + "?locale=es", headers={"Accept-Language": "fr"}))
    assert '<html lang="es"' in spanish and "asientos reservados" in spanish
    assert "35,00" in spanish  # money in the fan's locale
    french = html_of(client.get(url, headers={"Accept-Language": "fr-CA,fr;q=0.9"}))
    assert '<html lang="fr"' in french and "places réservées" in french
    with app.app_context(), db.transaction() as session:
        make_partner(session, "los-locos", locale="es")
    default = html_of(client.get("/w/los-locos/", headers={"Accept-Language": "de"}))
    assert '<html lang="es"' in default


def test_the_manage_page_speaks_the_language_of_the_pledge(client, team):
    response = submit_form(
        client,
        pledge_form(client, team) + "?locale=fr",
        "/pledge",
        fan_input(team),
    )
    token = response.headers["Location"].split("/pledged/")[1].split("?")[0]
    html = html_of(client.get(f"{team['base']}/manage/{token}"))
    assert '<html lang="fr"' in html and "Votre réservation" in html


def test_demo_partner_sites_embed_the_widget_from_the_other_loopback_name(app, client):
    from widget_server.demo_data import seed_demo
    from widget_server.domain.partners import PartnerSchema, upsert_partner

    with app.app_context(), db.transaction() as session:
        for slug in ("demo", "demo-away"):
            data = PartnerSchema().load(
                {"slug": slug, "name": slug, "allowed_origins": ["http://localhost:8000"]}
            )
            upsert_partner(session, data, actor="test")
        seed_demo(session)
    home = html_of(client.get("/partner-site/demo", base_url="http://localhost:8000"))
    assert '<script async src="http://127.0.0.1:8000/embed.js"></script>' in home
    assert re.search(r'data-ridepledge data-partner="demo" data-event="evt_\w+"', home)
    assert "does not allow" not in home
    away = html_of(client.get("/partner-site/demo-away", base_url="http://localhost:8000"))
    assert "RidePledge('mount', '#rides'" in away and "locale: 'es'" in away
    # Opened on the widget's own origin: the page says where to open it instead.
    same = html_of(client.get("/partner-site/demo", base_url="http://127.0.0.1:8000"))
    assert 'open <a href="http://localhost:8000/partner-site/demo">' in same
    assert client.get("/partner-site/kc-chiefs").status_code == 404


def test_with_stripe_the_pledge_form_uses_the_payment_element(settings, migrated_engine):
    from tests.conftest import empty_all_tables, make_settings
    from widget_server import create_app

    stripe_settings = make_settings(
        settings.database_url,
        settings.instance_path,
        PAYMENTS_PROVIDER="stripe",
        STRIPE_SECRET_KEY="sk_test_widget",
        STRIPE_PUBLISHABLE_KEY="pk_test_widget",
    )
    app = create_app(stripe_settings, TESTING=True)
    try:
        with app.app_context(), db.transaction() as session:
            partner = make_partner(session, "kc-chiefs", allowed_origins=[HOST])
            trip = make_trip(session, partner)
        response = app.test_client().get(f"/w/kc-chiefs/trips/{trip.id}/pledge")
        html = html_of(response)
        assert '<script src="https://js.stripe.com/v3/"></script>' in html
        assert "data-stripe-element" in html and 'name="card_number"' not in html
        assert "Test mode" not in html
        assert page_data(html)["stripe_key"] == "pk_test_widget"
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self' https://js.stripe.com" in policy
        assert "frame-src https://js.stripe.com https://hooks.stripe.com" in policy
        assert "connect-src 'self' https://api.stripe.com" in policy
    finally:
        app.extensions["ridepledge.payments"].close()
        app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)
