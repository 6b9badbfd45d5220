"""Events and trips in the console: forms with stops, open, cancel with the refund summary,
the trip page (pledges, search, manifest, CSV), canceling one pledge, roles."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.admin_helpers import csrf, make_admin, post, sign_in
from tests.conftest import run_jobs
from tests.factories import make_event, make_partner, make_trip
from widget_server.domain.pledges import planning, recording, trip_outcomes
from widget_server.extensions import db
from widget_server.models import Event, Pledge, Trip
from widget_server.models.types import utcnow

OPERATOR = {"name": "Coach Co", "phone": "+13125550100", "email": "ops@coach.example"}


@pytest.fixture
def world(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        for role in ("owner", "editor", "developer", "viewer"):
            make_admin(session, partner, f"{role}@chiefs.example", role)
        # The trip forms below depart on 2031-05-01, before this kickoff (19:00 in Chicago).
        kickoff = datetime(2031, 5, 2, 0, 0, tzinfo=UTC)
        event = make_event(session, partner, title="Chiefs vs. Raiders", starts_at=kickoff)
        trip = make_trip(
            session, partner, event, capacity=10, min_riders=2, unit_amount=3500, operator=OPERATOR
        )
        ids = {"partner": partner.id, "event": event.id, "trip": trip.id, "stop": trip.stops[0].id}
    return ids


def signed_in(app, role: str):
    client = app.test_client()
    assert sign_in(client, f"{role}@chiefs.example").status_code == 302
    return client


def pledges_part(answer) -> str:
    """The pledges table of a trip page (the manifest above it lists every rider)."""
    return answer.get_data(as_text=True).split('id="pledges-h"', 1)[1]


def pledge(app, trip_id: str, name: str, seats: int = 1, card: str = "pm_card_visa") -> str:
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, trip_id)
        created = recording.create_pledge(
            session,
            app.extensions["ridepledge.payments"],
            trip.event.partner,
            trip.id,
            planning.PledgeRequest(
                stop_id=trip.stops[0].id,
                seats=seats,
                name=name,
                email=f"{name.split()[0].lower()}@fans.example",
                payment_method=card,
            ),
        )
        return created.id


TRIP_FORM = {
    "origin.name": "Topeka",
    "origin.region": "KS",
    "stops.0.name": "Union Station",
    "stops.0.address": "1 Main St",
    "stops.0.departs_at": "2031-05-01T13:00",
    "stops.1.name": "Lawrence",
    "stops.1.address": "2 Mass St",
    "stops.1.departs_at": "2031-05-01T13:45",
    "capacity": "45",
    "min_riders": "30",
    "price": "35.50",
    "pledge_deadline": "2031-04-28T20:00",
    "operator.name": "Coach Co",
    "operator.phone": "+1 312 555 0100",
    "operator.email": "ops@coach.example",
}


def test_an_editor_creates_an_event_and_a_trip_with_two_stops_and_opens_it(app, world):
    client = signed_in(app, "editor")
    made = post(
        client,
        "/admin/events/new",
        {
            "title": "Chiefs vs. Broncos",
            "venue": "Arrowhead",
            "starts_at": "2031-05-01T19:00",
            "timezone": "America/Chicago",
        },
        page="/admin/events/new",
    )
    assert made.status_code == 302
    event_id = made.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.starts_at.isoformat() == "2031-05-02T00:00:00+00:00"  # 7 PM CDT
    trip_answer = post(
        client, f"/admin/events/{event_id}/trips/new", TRIP_FORM, page=f"/admin/events/{event_id}"
    )
    assert trip_answer.status_code == 302, trip_answer.get_data(as_text=True)
    trip_id = trip_answer.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        assert trip.status == "draft"
        assert [s.name for s in trip.stops] == ["Union Station", "Lawrence"]
        assert trip.unit_amount == 3550 and trip.currency == "USD"
        assert trip.operator_phone == "+13125550100"
        assert trip.stops[0].departs_at.isoformat() == "2031-05-01T18:00:00+00:00"
    opened = post(client, f"/admin/trips/{trip_id}/open", page=f"/admin/trips/{trip_id}")
    assert opened.status_code == 302
    page = client.get(f"/admin/trips/{trip_id}").get_data(as_text=True)
    assert "open" in page and "Union Station" in page and "Lawrence" in page
    pledge(app, trip_id, "Pat Fan", seats=2)
    page = client.get(f"/admin/trips/{trip_id}").get_data(as_text=True)
    assert "Pat Fan" in page
    progress = client.get("/admin/trips/progress").get_json()
    assert progress[trip_id]["seats_pledged"] == 2


def test_bad_trip_input_is_422_naming_the_field(app, world):
    client = signed_in(app, "editor")
    path = f"/admin/events/{world['event']}/trips/new"
    bad = dict(TRIP_FORM, **{"price": "12.345", "stops.1.departs_at": "2031-05-01T12:00"})
    answer = post(client, path, bad, page=path)
    assert answer.status_code == 422
    assert 'id="f-price-error"' in answer.get_data(as_text=True)
    order = post(client, path, dict(TRIP_FORM, price="10"), page=path)
    assert order.status_code == 302
    missing = post(
        client, path, {k: v for k, v in TRIP_FORM.items() if k != "stops.0.name"}, page=path
    )
    assert missing.status_code == 422
    assert 'id="f-stops-0-name-error"' in missing.get_data(as_text=True)
    control = post(client, path, dict(TRIP_FORM, **{"origin.name": "Top\u202eeka"}), page=path)
    assert control.status_code == 422
    assert "control characters" in control.get_data(as_text=True)
    late = post(client, path, dict(TRIP_FORM, pledge_deadline="2031-05-02T20:00"), page=path)
    assert late.status_code == 422
    assert "first stop" in late.get_data(as_text=True)


def test_editing_an_open_trip_changes_only_what_may_change(app, world):
    client = signed_in(app, "owner")
    path = f"/admin/trips/{world['trip']}/edit"
    form = client.get(path).get_data(as_text=True)
    assert 'name="origin.name"' in form and "readonly" in form
    values = dict(re.findall(r'name="([\w.]+)" type="[\w-]+" value="([^"]*)"', form))
    values.update({"capacity": "12", "origin.name": "Elsewhere"})
    assert post(client, path, values, page=path).status_code == 302
    with app.app_context():
        trip = db.session.get(Trip, world["trip"])
        assert trip.capacity == 12
        assert trip.origin_name == "Wichita"


def test_cancel_says_exactly_who_is_refunded_how_much(app, world):
    paid_trip = world["trip"]
    pledge(app, paid_trip, "Ann Paid", seats=1)
    pledge(app, paid_trip, "Bob Paid", seats=2)  # confirms at 2 seats: both get charged
    run_jobs(app)
    with app.app_context():
        statuses = {p.name: p.status for p in db.session.scalars(select(Pledge))}
    assert statuses == {"Ann Paid": "paid", "Bob Paid": "paid"}
    client = signed_in(app, "editor")
    page = client.get(f"/admin/trips/{paid_trip}/cancel").get_data(as_text=True)
    assert "2 fans who paid are refunded $105.00 in total." in page
    assert "0 fans who have not been charged are released" in page
    done = post(client, f"/admin/trips/{paid_trip}/cancel", page=f"/admin/trips/{paid_trip}/cancel")
    assert done.status_code == 302
    run_jobs(app)
    with app.app_context():
        assert {p.status for p in db.session.scalars(select(Pledge))} == {"refunded"}
        assert db.session.get(Trip, paid_trip).status == "canceled"


def test_cancel_of_an_open_trip_releases_unpaid_pledges(app, world):
    with app.app_context(), db.transaction() as session:
        partner = session.get(Event, world["event"]).partner
        trip = make_trip(
            session, partner, session.get(Event, world["event"]), capacity=10, min_riders=8
        )
        trip_id = trip.id
    pledge(app, trip_id, "Cy Saved", seats=3)
    client = signed_in(app, "owner")
    page = client.get(f"/admin/trips/{trip_id}/cancel").get_data(as_text=True)
    assert "0 fans who paid are refunded $0.00 in total." in page
    assert "1 fan who has not been charged is released and never charged." in page


def test_pledges_search_manifest_csv_and_one_refund(app, world):
    first = pledge(app, world["trip"], "Dana Rider", seats=1)
    pledge(app, world["trip"], "=HYPERLINK Eve", seats=1)
    run_jobs(app)
    client = signed_in(app, "editor")
    found = pledges_part(client.get(f"/admin/trips/{world['trip']}?q=DANA"))
    assert "Dana Rider" in found and "HYPERLINK" not in found
    by_email = pledges_part(client.get(f"/admin/trips/{world['trip']}?q=dana@fans"))
    assert "Dana Rider" in by_email
    none = client.get(f"/admin/trips/{world['trip']}?q=%25").get_data(as_text=True)
    assert "No pledges match." in none  # % is a character to look for, not a wildcard
    exported = client.get(f"/admin/trips/{world['trip']}/manifest.csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {r["name"] for r in rows} == {"Dana Rider", "'=HYPERLINK Eve"}
    confirm = client.get(f"/admin/pledges/{first}/cancel").get_data(as_text=True)
    assert "$35.00 goes back to the fan" in confirm
    refunded = post(client, f"/admin/pledges/{first}/cancel", page=f"/admin/pledges/{first}/cancel")
    assert refunded.status_code == 302
    run_jobs(app)
    with app.app_context():
        assert db.session.get(Pledge, first).status == "refunded"


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_roles_without_catalog_rights_are_refused_by_the_server(app, world, role):
    client = signed_in(app, role)
    trip_page = client.get(f"/admin/trips/{world['trip']}")
    assert trip_page.status_code == 200  # they may look
    html = trip_page.get_data(as_text=True)
    assert "Cancel the trip" not in html and "/edit" not in html
    token = csrf(client, "/admin/")
    attempts = [
        (
            "/admin/events/new",
            {"title": "x", "venue": "y", "starts_at": "2031-01-01T10:00", "timezone": "UTC"},
        ),
        (f"/admin/events/{world['event']}", {"title": "x"}),
        (f"/admin/events/{world['event']}/trips/new", TRIP_FORM),
        (f"/admin/trips/{world['trip']}/edit", TRIP_FORM),
        (f"/admin/trips/{world['trip']}/open", {}),
        (f"/admin/trips/{world['trip']}/cancel", {}),
    ]
    for path, data in attempts:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert client.get(f"/admin/trips/{world['trip']}/cancel").status_code == 403
    with app.app_context():
        assert db.session.get(Trip, world["trip"]).status == "open"
        assert len(db.session.scalars(select(Event)).all()) == 1


def test_a_trip_that_already_ended_cannot_be_canceled(app, world):
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, world["trip"])
        trip.pledge_deadline = utcnow() - timedelta(minutes=1)
        session.flush()
        trip_outcomes.fail_trip_if_overdue(session, trip.id)
    client = signed_in(app, "owner")
    answer = post(
        client, f"/admin/trips/{world['trip']}/cancel", page=f"/admin/trips/{world['trip']}"
    )
    assert answer.status_code == 302
    assert "failed trip cannot be canceled" in client.get(f"/admin/trips/{world['trip']}").get_data(
        as_text=True
    )
