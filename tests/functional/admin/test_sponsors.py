"""Sponsors (issue 22): an event or a trip "presented by" a sponsor, set in the console (with a
logo cleaned like the partner's) and through /v1; the trip's own sponsor wins over its event's;
shown on the widget trip page, the public page and its JSON-LD, the boarding pass and the fan
emails; hostile input is a 422 naming the field; partners are walled off."""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.api_helpers import ApiSession, issue_token, partner_with_open_trip, pledge_body
from tests.conftest import run_jobs
from tests.factories import make_partner
from tests.functional.admin.test_logo_upload import image, multipart, png_header_only
from tests.tripday.helpers import confirmed_trip, emails_of_kind
from tests.unit.email_helpers import outbox_file, parse
from widget_server.domain.sponsors import set_sponsor
from widget_server.extensions import db
from widget_server.fan.links import manage_token
from widget_server.models import AuditLogEntry, Event, Sponsor, Trip

SPONSOR_LOGO = re.compile(r'<img class="rp-sponsor-logo" src="(/w/kc-chiefs/sponsors/[^"]+)"')
JSON_LD = re.compile(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', re.S)


@pytest.fixture
def trip_day(app, client):
    ids = confirmed_trip(app)
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, ids["trip"])
        make_admin(session, trip.event.partner, "owner@chiefs.example", "owner")
        make_admin(session, trip.event.partner, "viewer@chiefs.example", "viewer")
        ids["event"] = trip.event_id
    ids["api"] = ApiSession(client, issue_token(app, ids["partner_id"]))
    return ids


def console(app, email="owner@chiefs.example"):
    client = app.test_client()
    sign_in(client, email)
    return client


def save_sponsor(client, path: str, logo: bytes | None = None, **fields):
    form = {"name": "Acme Tires", "url": "https://acme.example/", "action": "save", **fields}
    form["csrf_token"] = csrf(client, path)
    if logo is not None:
        form["logo"] = FileStorage(io.BytesIO(logo), filename="s.png", content_type="image/png")
    return client.post(path, **multipart(form))


def test_event_sponsor_with_logo_shows_on_every_face_and_a_trip_sponsor_wins(
    app, client, trip_day, settings
):
    admin = console(app)
    path = f"/admin/events/{trip_day['event']}/sponsor"
    assert admin.get(path).status_code == 200
    answer = save_sponsor(admin, path, logo=image("PNG", (1200, 300)))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with app.app_context():
        sponsor = db.session.get(Event, trip_day["event"]).sponsor
        assert (sponsor.name, sponsor.url, sponsor.format) == (
            "Acme Tires",
            "https://acme.example/",
            "PNG",
        )
        assert (sponsor.width, sponsor.height) == (512, 128)  # re-encoded and scaled down
    # The widget's trip page: "Presented by" with the link and the logo, served re-encoded.
    page = client.get(f"/w/kc-chiefs/trips/{trip_day['trip']}").get_data(as_text=True)
    assert "Presented by" in page and 'href="https://acme.example/"' in page
    logo_path = SPONSOR_LOGO.search(page).group(1)
    served = client.get(logo_path)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert Image.open(io.BytesIO(served.data)).size == (512, 128)
    assert client.get(logo_path.replace("kc-chiefs", "nobody")).status_code == 404
    # The public page and its JSON-LD (a schema.org sponsor Organization).
    public = client.get(f"/t/kc-chiefs/{trip_day['trip']}").get_data(as_text=True)
    assert "Acme Tires" in public
    graph = json.loads(JSON_LD.search(public).group(1))["@graph"]
    bus = next(node for node in graph if node["@type"] == "BusTrip")
    assert bus["sponsor"]["@type"] == "Organization"
    assert bus["sponsor"]["name"] == "Acme Tires"
    assert bus["sponsor"]["url"] == "https://acme.example/"
    assert bus["sponsor"]["logo"].endswith(logo_path)
    # The boarding pass.
    with app.app_context():
        token = manage_token(trip_day["pledges"][0])
    boarding = client.get(f"/w/kc-chiefs/manage/{token}/boarding").get_data(as_text=True)
    assert "Presented by" in boarding and "Acme Tires" in boarding
    # The API shows it on the event (and the trip, without its own, has none).
    api = trip_day["api"]
    event = api.get(f"/v1/events/{trip_day['event']}").json
    assert event["sponsor"]["name"] == "Acme Tires"
    assert event["sponsor"]["logo_url"].endswith(logo_path)
    assert api.get(f"/v1/trips/{trip_day['trip']}").json["sponsor"] is None

    # The trip's own sponsor, through the API, wins on every face.
    changed = api.patch(
        f"/v1/trips/{trip_day['trip']}",
        json={"sponsor": {"name": "Bolt Energy", "url": "https://bolt.example/go"}},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["sponsor"] == {
        "name": "Bolt Energy",
        "url": "https://bolt.example/go",
        "logo_url": None,
    }
    page = client.get(f"/w/kc-chiefs/trips/{trip_day['trip']}").get_data(as_text=True)
    assert "Bolt Energy" in page and "Acme Tires" not in page
    boarding = client.get(f"/w/kc-chiefs/manage/{token}/boarding").get_data(as_text=True)
    assert "Bolt Energy" in boarding
    # Emails sent from now on name it (text and HTML).
    cancel = api.post(f"/v1/pledges/{trip_day['pledges'][2]}/cancel")
    assert cancel.status_code == 200, cancel.json
    run_jobs(app)
    sent = [
        e for e in emails_of_kind(app, "pledge_refunded") + emails_of_kind(app, "pledge_canceled")
    ]
    assert sent
    message = parse(outbox_file(settings, sent[-1].id).read_bytes())
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Presented by Bolt Energy (https://bolt.example/go)" in text
    assert 'href="https://bolt.example/go"' in html

    # null removes the trip's own: the event's shows again.
    assert (
        api.patch(f"/v1/trips/{trip_day['trip']}", json={"sponsor": None}).json["sponsor"] is None
    )
    page = client.get(f"/w/kc-chiefs/trips/{trip_day['trip']}").get_data(as_text=True)
    assert "Acme Tires" in page
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditLogEntry).all()]
        assert "event.sponsor_set" in actions and "trip.sponsor_removed" in actions
        assert db.session.query(Sponsor).count() == 1


def test_pledge_received_email_names_the_sponsor(app, client, settings):
    ids = partner_with_open_trip(app, client)
    with app.app_context(), db.transaction() as session:
        set_sponsor(session, session.get(Trip, ids["trip"]), {"name": "Zed Cola"}, actor="t")
    answer = client.post(ids["pledges"], json=pledge_body(ids["stop"]))
    assert answer.status_code == 201, answer.json
    run_jobs(app)
    sent = emails_of_kind(app, "pledge_received")
    message = parse(outbox_file(settings, sent[0].id).read_bytes())
    assert "Presented by Zed Cola" in message.get_body(("plain",)).get_content()
    assert "Zed Cola" in message.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    ("sponsor", "field"),
    [
        ({"name": "Acme", "url": "http://acme.example/"}, "sponsor.url"),
        ({"name": "Acme", "url": "javascript:alert(1)"}, "sponsor.url"),
        ({"name": "Acme", "url": "https://"}, "sponsor.url"),
        ({"name": "Acme", "url": "https://["}, "sponsor.url"),
        ({"name": "Acme", "url": "https://a.example/" + "x" * 3000}, "sponsor.url"),
        ({"name": ""}, "sponsor.name"),
        ({"name": "x" * 201}, "sponsor.name"),
        ({"name": "Acme\x00"}, "sponsor.name"),
        ({"name": "Acme\ud800"}, "sponsor.name"),
        ({"name": "Acme", "logo_url": "https://evil.example/x.svg"}, "sponsor.logo_url"),
        ({"name": {"deep": [[[[1]]]]}}, "sponsor.name"),
        ({"url": "https://acme.example/"}, "sponsor.name"),
        ("Acme", "sponsor"),
    ],
)
def test_hostile_sponsor_input_is_a_422_naming_the_field(app, client, sponsor, field):
    ids = partner_with_open_trip(app, client)
    for path in (f"/v1/events/{ids['event']}", f"/v1/trips/{ids['trip']}"):
        answer = ids["api"].patch(path, json={"sponsor": sponsor})
        assert answer.status_code == 422, (path, answer.json)
        assert answer.mimetype == "application/problem+json"
        assert field in answer.json["errors"], answer.json
    with app.app_context():
        assert db.session.query(Sponsor).count() == 0


def test_console_refuses_bad_sponsor_input_and_viewers_and_other_partners(app, trip_day):
    admin = console(app)
    path = f"/admin/trips/{trip_day['trip']}/sponsor"
    refused = save_sponsor(admin, path, url="http://acme.example/")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="f-url-error"' in page and 'value="Acme Tires"' in page  # typed values kept
    bomb = save_sponsor(admin, path, logo=png_header_only(20000, 20000))
    assert bomb.status_code == 422 and 'id="f-logo-error"' in bomb.get_data(as_text=True)
    svg = save_sponsor(admin, path, logo=b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert svg.status_code == 422
    with app.app_context():
        assert db.session.query(Sponsor).count() == 0
    viewer = console(app, "viewer@chiefs.example")
    assert viewer.get(path).status_code == 200
    assert save_sponsor(viewer, path).status_code == 403
    # Another partner's admin: 404 for the page and the post.
    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-team")
        make_admin(session, other, "owner@other.example", "owner")
    stranger = console(app, "owner@other.example")
    assert stranger.get(path).status_code == 404
    answer = stranger.post(path, data={"csrf_token": csrf(stranger, "/admin/"), "name": "X"})
    assert answer.status_code == 404
    # Saved, then removed with its button.
    assert save_sponsor(admin, path).status_code == 302
    removed = admin.post(path, data={"csrf_token": csrf(admin, path), "action": "remove"})
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.get(Trip, trip_day["trip"]).sponsor is None


def test_deleting_an_event_deletes_its_sponsor(app, client):
    ids = partner_with_open_trip(app, client)
    api = ids["api"]
    event = api.post(
        "/v1/events",
        json={
            "title": "Bowl game",
            "venue": "Arrowhead",
            "starts_at": "2030-01-01T19:00:00Z",
            "timezone": "America/Chicago",
            "sponsor": {"name": "Acme Tires", "url": None},
        },
    )
    assert event.status_code == 201, event.json
    assert event.json["sponsor"] == {"name": "Acme Tires", "url": None, "logo_url": None}
    assert api.delete(f"/v1/events/{event.json['id']}").status_code == 204
    with app.app_context():
        assert db.session.query(Sponsor).count() == 0
