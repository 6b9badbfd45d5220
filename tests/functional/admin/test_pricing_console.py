"""Promo codes in the console: an editor creates, edits and turns off a code; its uses show;
bad input is a 422 naming the field; viewers see but cannot change; another partner's code is
404."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.factories import make_partner, make_trip
from widget_server.extensions import db
from widget_server.models import PromoCode


@pytest.fixture
def partner_ids(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner)
        for role in ("editor", "viewer"):
            make_admin(session, partner, f"{role}@chiefs.example", role)
        other = make_partner(session, "other-team")
        session.add(PromoCode(partner_id=other.id, code="THEIRS", percent_off=10))
        return partner.id, trip.id


def signed_in(app, role):
    client = app.test_client()
    assert sign_in(client, f"{role}@chiefs.example").status_code == 302
    return client


def post(client, path, **fields):
    return client.post(path, data={"csrf_token": csrf(client, "/admin/promo_codes"), **fields})


def codes(app) -> dict[str, PromoCode]:
    with app.app_context():
        return {p.code: p for p in db.session.scalars(select(PromoCode))}


def test_editor_creates_edits_and_turns_off_a_code(app, partner_ids):
    _, trip_id = partner_ids
    editor = signed_in(app, "editor")
    made = post(
        editor,
        "/admin/promo_codes",
        code="season20",
        kind="percent",
        value="20",
        max_redemptions="5",
        per_fan_limit="1",
        starts_at="",
        ends_at="",
        scope=trip_id,
    )
    assert made.status_code == 302, made.get_data(as_text=True)
    promo = codes(app)["SEASON20"]
    assert (promo.percent_off, promo.max_redemptions, promo.trip_id) == (20, 5, trip_id)
    listing = editor.get("/admin/promo_codes").get_data(as_text=True)
    assert "SEASON20" in listing and "0 of 5" in listing and "THEIRS" not in listing
    saved = post(
        editor,
        f"/admin/promo_codes/{promo.id}",
        code="SEASON20",
        kind="amount",
        value="5.00",
        max_redemptions="",
        scope="",
    )
    assert saved.status_code == 302
    promo = codes(app)["SEASON20"]
    assert (promo.percent_off, promo.amount_off, promo.currency, promo.max_redemptions) == (
        None,
        500,
        "USD",
        None,
    )
    assert post(editor, f"/admin/promo_codes/{promo.id}/active", active="off").status_code == 302
    assert codes(app)["SEASON20"].active is False


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "", "kind": "percent", "value": "10"}, "code"),
        ({"code": "A B", "kind": "percent", "value": "10"}, "code"),
        ({"code": "X", "kind": "percent", "value": "1000"}, "value"),
        ({"code": "X", "kind": "amount", "value": "-5"}, "value"),
        ({"code": "X", "kind": "amount", "value": "0"}, "value"),
        ({"code": "X\x07", "kind": "percent", "value": "10"}, "code"),
        ({"code": "X", "kind": "percent", "value": "10", "ends_at": "9999-01-01T00:00"}, "ends_at"),
        (
            {"code": "X", "kind": "percent", "value": "10", "max_redemptions": "0"},
            "max_redemptions",
        ),
        (
            {
                "code": "X",
                "kind": "percent",
                "value": "10",
                "scope": "trp_01aaaaaaaaaaaaaaaaaaaaaaaa",
            },
            "trip_id",
        ),
    ],
)
def test_bad_input_is_422_naming_the_field(app, partner_ids, fields, field):
    editor = signed_in(app, "editor")
    answer = post(editor, "/admin/promo_codes", **fields)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert f'id="f-{field if field != "trip_id" else "scope"}-error"' in page, page
    assert set(codes(app)) == {"THEIRS"}


def test_viewers_cannot_change_and_other_partners_codes_are_404(app, partner_ids):
    viewer = signed_in(app, "viewer")
    page = viewer.get("/admin/promo_codes")
    assert page.status_code == 200 and "New promo code" not in page.get_data(as_text=True)
    refused = post(viewer, "/admin/promo_codes", code="MINE", kind="percent", value="10")
    assert refused.status_code == 403 and "MINE" not in codes(app)
    theirs = codes(app)["THEIRS"]
    editor = signed_in(app, "editor")
    assert editor.get(f"/admin/promo_codes/{theirs.id}").status_code == 404
    assert post(editor, f"/admin/promo_codes/{theirs.id}/active", active="off").status_code == 404
    assert codes(app)["THEIRS"].active is True


def test_editor_sets_early_bird_steps_and_group_tiers_on_an_open_trip(app, partner_ids):
    from widget_server.models import Event, Trip

    _, trip_id = partner_ids
    editor = signed_in(app, "editor")
    form = editor.get(f"/admin/trips/{trip_id}/edit")
    assert form.status_code == 200 and "Early-bird prices" in form.get_data(as_text=True)
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        fields = {key: str(value) for key, value in _trip_form(trip).items()}
        zone = trip.event.timezone
        event_id = trip.event_id
    fields |= {
        "price_steps.0.starts_at": "2030-01-01T10:00",
        "price_steps.0.price": "45.50",
        "group_tiers.0.min_seats": "4",
        "group_tiers.0.percent_off": "10",
    }
    saved = post(editor, f"/admin/trips/{trip_id}/edit", **fields)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        assert trip.group_tiers == [{"min_seats": 4, "percent_off": 10}]
        assert [step["unit_amount"] for step in trip.price_steps] == [4550]
        assert zone  # the step's time was read in the event's zone
    page = editor.get(f"/admin/trips/{trip_id}/edit").get_data(as_text=True)
    assert 'value="45.50"' in page
    bad = post(
        editor, f"/admin/trips/{trip_id}/edit", **(fields | {"group_tiers.0.percent_off": "500"})
    )
    assert bad.status_code == 422
    assert 'id="f-group_tiers-0-percent_off-error"' in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Event, event_id).group_tiers == []


def _trip_form(trip) -> dict:
    from widget_server.admin.trips import _trip_values

    return _trip_values(trip)
