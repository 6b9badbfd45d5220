"""The console's add-on pages: editors add, edit and turn off a trip's extras; bad input is
refused on the form naming the field; viewers only look; other partners get 404."""

from __future__ import annotations

import pytest

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.factories import make_partner, make_trip
from widget_server.extensions import db
from widget_server.models import AddOn, AuditLogEntry, Trip


@pytest.fixture
def trip_id(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        make_admin(session, partner, "editor@chiefs.example", "editor")
        make_admin(session, partner, "viewer@chiefs.example", "viewer")
        other = make_partner(session, "other-team")
        make_admin(session, other, "owner@other.example", "owner")
        return make_trip(session, partner).id


def console(app, email="editor@chiefs.example"):
    client = app.test_client()
    sign_in(client, email)
    return client


def post(client, path, **fields):
    return client.post(path, data={"csrf_token": csrf(client, "/admin/"), **fields})


def test_an_editor_adds_edits_and_turns_off_an_extra(app, trip_id):
    admin = console(app)
    path = f"/admin/trips/{trip_id}/add_ons"
    assert admin.get(path).status_code == 200
    added = post(admin, path, name="Tailgate pass", price="15.50", quantity="30", active="1")
    assert added.status_code == 302, added.get_data(as_text=True)
    with app.app_context():
        add_on = db.session.get(Trip, trip_id).add_ons[0]
        assert (add_on.name, add_on.unit_amount, add_on.quantity, add_on.active) == (
            "Tailgate pass",
            1550,
            30,
            True,
        )
        add_on_id = add_on.id
    page = admin.get(path).get_data(as_text=True)
    assert "Tailgate pass" in page and "$15.50" in page
    assert "Tailgate pass ($15.50)" in admin.get(f"/admin/trips/{trip_id}").get_data(as_text=True)
    edited = post(admin, f"/admin/add_ons/{add_on_id}", name="VIP pass", price="20", quantity="")
    assert edited.status_code == 302
    with app.app_context():
        add_on = db.session.get(AddOn, add_on_id)
        assert (add_on.name, add_on.unit_amount, add_on.quantity, add_on.active) == (
            "VIP pass",
            2000,
            None,
            False,  # the box was not ticked: turned off
        )
        actions = {e.action for e in db.session.query(AuditLogEntry).all()}
        assert {"add_on.created", "add_on.updated"} <= actions


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "price": "5"}, "name"),
        ({"name": "A\x00B", "price": "5"}, "name"),
        ({"name": "x" * 121, "price": "5"}, "name"),
        ({"name": "Scarf", "price": "abc"}, "price"),
        ({"name": "Scarf", "price": "-5"}, "price"),
        ({"name": "Scarf", "price": "1e9"}, "price"),
        ({"name": "Scarf", "price": "5.001"}, "price"),
        ({"name": "Scarf", "price": "5", "quantity": "-1"}, "quantity"),
        ({"name": "Scarf", "price": "5", "quantity": "99999999999999999999"}, "quantity"),
    ],
)
def test_bad_input_is_refused_naming_the_field(app, trip_id, fields, field):
    admin = console(app)
    answer = post(admin, f"/admin/trips/{trip_id}/add_ons", **fields)
    assert answer.status_code == 422
    assert f'id="f-{field}-error"' in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(AddOn).count() == 0


def test_viewers_look_and_other_partners_get_404(app, trip_id):
    path = f"/admin/trips/{trip_id}/add_ons"
    viewer = console(app, "viewer@chiefs.example")
    page = viewer.get(path)
    assert page.status_code == 200 and "Add the extra" not in page.get_data(as_text=True)
    assert post(viewer, path, name="Scarf", price="5").status_code == 403
    stranger = console(app, "owner@other.example")
    assert stranger.get(path).status_code == 404
    assert post(stranger, path, name="Scarf", price="5").status_code == 404
    with app.app_context():
        assert db.session.query(AddOn).count() == 0
