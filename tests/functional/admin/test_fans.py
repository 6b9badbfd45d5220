"""Fan data requests from the console: an owner or editor downloads one fan's data and erases
the person after confirming; viewers and developers are refused by the server; only the
signed-in admin's partner is ever searched."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.admin_helpers import post, sign_in, team
from tests.factories import make_trip
from widget_server.domain import audit
from widget_server.domain.privacy import ERASED_EMAIL
from widget_server.extensions import db
from widget_server.models import Partner, Pledge

FAN = "Maria.Lopez@Fans.example"


def _pledge(app, client, slug: str) -> str:
    with app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == slug))
        trip = make_trip(session, partner, capacity=10, min_riders=5)
        trip_id, stop_id = trip.id, trip.stops[0].id
    response = client.post(
        f"/w/{slug}/api/trips/{trip_id}/pledges",
        json={
            "stop_id": stop_id,
            "seats": 2,
            "name": "Maria Lopez",
            "email": FAN,
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["pledge"]["id"] if "pledge" in response.json else response.json["id"]


def _console(app, email):
    console = app.test_client()
    assert sign_in(console, email).status_code == 302
    return console


def test_an_editor_downloads_then_erases_one_fan(app, client):
    home = team(app, "home-fc", roles=("owner", "editor"))
    team(app, "away-fc")
    mine, theirs = _pledge(app, client, "home-fc"), _pledge(app, client, "away-fc")
    console = _console(app, home["editor"])
    assert "Fan data" in console.get("/admin/fans").get_data(as_text=True)

    download = post(console, "/admin/fans/export", {"email": "maria.lopez@fans.example"})
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.get_data(as_text=True))
    assert [p["id"] for p in data["pledges"]] == [mine]  # never the other partner's pledge

    asked = post(console, "/admin/fans/erase", {"email": FAN})
    assert asked.status_code == 200 and "What this partner holds" in asked.get_data(as_text=True)
    wrong = post(console, "/admin/fans/erase", {"email": FAN, "confirm": "someone@else.example"})
    assert wrong.status_code == 422 and "Type the same address" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Pledge, mine).name == "Maria Lopez"  # nothing erased yet

    done = post(console, "/admin/fans/erase", {"email": FAN, "confirm": FAN.upper()})
    assert done.status_code == 302
    assert "data is erased" in console.get("/admin/fans").get_data(as_text=True)
    with app.app_context():
        erased, kept = db.session.get(Pledge, mine), db.session.get(Pledge, theirs)
        assert (erased.email, erased.name, erased.amount) == (ERASED_EMAIL, "[erased]", 7000)
        assert kept.name == "Maria Lopez"
        actions = [e.action for e in audit.entries(db.session, home["partner_id"])]
    assert "fan.exported" in actions and "fan.erased" in actions
    assert FAN.lower() not in json.dumps([str(a) for a in actions]).lower()


def test_a_bad_address_is_named_and_other_roles_are_refused(app, client):
    home = team(app, "home-fc", roles=("owner", "viewer", "developer"))
    owner = _console(app, home["owner"])
    bad = post(owner, "/admin/fans/export", {"email": "not-an-address"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    for role in ("viewer", "developer"):
        console = _console(app, home[role])
        assert console.get("/admin/fans").status_code == 403
        for path in ("/admin/fans/export", "/admin/fans/erase"):
            refused = post(console, path, {"email": FAN, "confirm": FAN})
            assert refused.status_code == 403
    assert owner.post("/admin/fans/erase", data={"email": FAN, "confirm": FAN}).status_code == 400
