"""The portal's trips pages: trips of two partners, a trip's manifest (no fan's email), the
assignment form with hostile input, the driver link, roles, and another operator's or
nobody's trip is 404 on every page and form."""

import pytest

from tests.admin_helpers import PASSWORD
from tests.functional.operator_trip_helpers import operator_world
from tests.functional.operators.portal_helpers import portal_post, portal_sign_in
from widget_server.domain.accounts.admins import create_admin, find_admin, set_password
from widget_server.extensions import db
from widget_server.models import Operator, OutboundEmail, Trip


@pytest.fixture
def world(app):
    ids = operator_world(app)
    with app.app_context(), db.transaction() as session:
        operator = session.get(Operator, ids["operator"])
        for role in ("dispatcher", "viewer"):
            email = f"{role}@coach-co.example"
            create_admin(session, operator, email=email, role=role, actor="test")
            set_password(session, find_admin(session, email), PASSWORD, actor="test")
    return ids


def signed_in(app, role: str):
    client = app.test_client()
    assert portal_sign_in(client, f"{role}@coach-co.example").status_code == 302
    return client


def test_trips_of_two_partners_and_a_trip_page(app, world):
    client = signed_in(app, "viewer")
    listing = client.get("/operator/trips")
    text = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert "Kc Chiefs" in text and "Kc Royals" in text
    assert f"/operator/trips/{world['confirmed']}" in text
    assert world["others_trip"] not in text and world["nobodys_trip"] not in text
    assert 'aria-current="page"' in text  # the Trips menu entry
    page = client.get(f"/operator/trips/{world['confirmed']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for name in ("Ana Paid", "Bo Paid", "Cy Paid"):
        assert name in text
    assert "@example.com" not in text  # fans' addresses never reach the operator
    es = client.get(f"/operator/trips/{world['confirmed']}?locale=es").get_data(as_text=True)
    assert "Vehículo y conductor" in es


def test_other_tenants_trips_are_404_on_every_page_and_form(app, world):
    client = signed_in(app, "dispatcher")
    for trip_id in (world["others_trip"], world["nobodys_trip"], "trp_01jzzzzzzzzzzzzzzzzzzzzzzz"):
        assert client.get(f"/operator/trips/{trip_id}").status_code == 404
        for action in ("assignment", "driver_link"):
            path = f"/operator/trips/{trip_id}/{action}"
            answer = portal_post(client, path, {"vehicle_id": world["vehicles"][0]})
            assert answer.status_code == 404, path
    with app.app_context():
        assert db.session.get(Trip, world["others_trip"]).vehicle_id is None


def test_the_assignment_form(app, world):
    trip_id = world["confirmed"]
    viewer = signed_in(app, "viewer")
    url = f"/operator/trips/{trip_id}/assignment"
    assert portal_post(viewer, url, {"vehicle_id": world["vehicles"][0]}).status_code == 403
    client = signed_in(app, "dispatcher")
    for data, field in (
        ({"vehicle_id": world["other_vehicle"]}, "f-vehicle_id-error"),
        ({"driver_id": world["other_driver"]}, "f-driver_id-error"),
        ({"vehicle_id": "veh_\u0000" + "x" * 3000}, "f-vehicle_id-error"),
        ({}, "f-vehicle_id-error"),
    ):
        answer = portal_post(client, url, data, page=f"/operator/trips/{trip_id}")
        assert answer.status_code == 422 and field in answer.get_data(as_text=True), data
    small = portal_post(client, url, {"vehicle_id": world["vehicles"][1]})
    assert small.status_code == 302
    page = client.get(f"/operator/trips/{trip_id}").get_data(as_text=True)
    assert "The assignment is saved." in page and "sells up to 40" in page
    both = {"vehicle_id": world["vehicles"][0], "driver_id": world["driver"]}
    assert portal_post(client, url, both).status_code == 302
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        assert (trip.vehicle_id, trip.driver_id) == (world["vehicles"][0], world["driver"])
        emails = db.session.query(OutboundEmail).filter_by(kind="driver_link").all()
        assert [e.to_address for e in emails] == ["dana@coach.example"]
    page = client.get(f"/operator/trips/{trip_id}").get_data(as_text=True)
    assert "/d/" in page  # the live driver link is shown
    again = portal_post(client, f"/operator/trips/{trip_id}/driver_link")
    assert again.status_code == 302
    with app.app_context():
        assert db.session.query(OutboundEmail).filter_by(kind="driver_link").count() == 2
