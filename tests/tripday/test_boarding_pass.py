"""Boarding passes: the signed short code, the printable page, the paid email, the API field."""

import re

from tests.api_helpers import ApiSession, issue_token
from tests.forgery import tampered
from tests.tripday.helpers import confirmed_trip, emails_of_kind, pledge_row
from tests.unit.email_helpers import outbox_file, parse
from widget_server.domain import boarding
from widget_server.extensions import db
from widget_server.fan.links import manage_token
from widget_server.models import Pledge, Trip

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
SECRET = "test-secret-key"


def test_code_names_pledge_and_trip_and_checks_its_signature(app):
    ids = confirmed_trip(app)
    with app.app_context():
        trip = db.session.get(Trip, ids["trip"])
        pledge = db.session.get(Pledge, ids["pledges"][0])
        code = boarding.boarding_code(SECRET, pledge)
        assert CODE.match(code)
        assert code.replace("-", "")[:2] == trip.id[-2:].upper()
        assert code.replace("-", "")[2:7] == pledge.id[-5:].upper()
        assert boarding.find_pledge(db.session, SECRET, trip, code).pledge.id == pledge.id
        # Typed sloppily: lower case, spaces, O for 0 and I/L for 1, a QR prefix.
        sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
        assert boarding.find_pledge(db.session, SECRET, trip, sloppy).pledge.id == pledge.id
        assert boarding.find_pledge(db.session, SECRET, trip, "RIDEPLEDGE:" + code).pledge
        # Another key, one changed MAC character, garbage: nothing.
        assert boarding.find_pledge(db.session, "other", trip, code).pledge is None
        raw = code.replace("-", "")
        flipped = tampered(raw)
        assert boarding.find_pledge(db.session, SECRET, trip, flipped).pledge is None
        assert boarding.find_pledge(db.session, SECRET, trip, "hello").pledge is None
        codes = {boarding.boarding_code(SECRET, db.session.get(Pledge, p)) for p in ids["pledges"]}
        assert len(codes) == 3


def test_api_pledge_carries_boarding_code_only_when_paid(app, client):
    ids = confirmed_trip(app)
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    paid = api.get(f"/v1/pledges/{ids['pledges'][0]}").json
    assert paid["status"] == "paid" and CODE.match(paid["boarding_code"])
    with app.app_context():
        assert paid["boarding_code"] == boarding.boarding_code(
            SECRET, db.session.get(Pledge, ids["pledges"][0])
        )
    unpaid = api.post(
        f"/w/{ids['partner']}/api/trips/{ids['trip']}/pledges",
        json={
            "stop_id": ids["stops"][0],
            "seats": 1,
            "name": "Late Fan",
            "email": "late@example.com",
            "payment_method": "pm_card_authenticationRequired",
        },
    ).json["pledge"]
    listed = {p["id"]: p for p in api.get(f"/v1/pledges?trip_id={ids['trip']}").json["data"]}
    assert listed[unpaid["id"]]["boarding_code"] is None
    assert listed[ids["pledges"][1]]["boarding_code"]


def test_boarding_pass_page_and_manage_link(app, client):
    ids = confirmed_trip(app)
    with app.app_context():
        token = manage_token(ids["pledges"][0])
        code = boarding.boarding_code(SECRET, db.session.get(Pledge, ids["pledges"][0]))
    manage = client.get(f"/w/kc-chiefs/manage/{token}").get_data(as_text=True)
    assert f"/w/kc-chiefs/manage/{token}/boarding" in manage and "Boarding pass" in manage
    page = client.get(f"/w/kc-chiefs/manage/{token}/boarding")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and code in html and "<svg" in html and "Ana Paid" in html
    spanish = client.get(f"/w/kc-chiefs/manage/{token}/boarding?locale=es").get_data(as_text=True)
    assert "Tarjeta de embarque" in spanish
    # Another partner cannot open it; an unpaid pledge has no pass yet.
    other = confirmed_trip(app, "other-team", names=("Zed Paid",))
    with app.app_context():
        other_token = manage_token(other["pledges"][0])
    assert client.get(f"/w/kc-chiefs/manage/{other_token}/boarding").status_code == 404
    with app.app_context(), db.transaction() as session:
        session.get(Pledge, ids["pledges"][1]).status = "charging"
        token_unpaid = manage_token(ids["pledges"][1])
    assert client.get(f"/w/kc-chiefs/manage/{token_unpaid}/boarding").status_code == 404


def test_paid_email_carries_the_code_and_the_qr(app, settings):
    ids = confirmed_trip(app)
    paid = [e for e in emails_of_kind(app, "pledge_paid") if e.pledge_id == ids["pledges"][0]]
    assert len(paid) == 1 and paid[0].status == "sent"
    message = parse(outbox_file(settings, paid[0].id).read_bytes())
    code = pledge_row(app, ids["pledges"][0])
    with app.app_context():
        code = boarding.boarding_code(SECRET, db.session.get(Pledge, ids["pledges"][0]))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert code in text and code in html and "/boarding" in text
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<boarding-qr>"
    assert images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="cid:boarding-qr"' in html
