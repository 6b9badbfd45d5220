"""The widget JSON API and the pledge lifecycle behind it, with the simulated provider."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import run_jobs
from tests.factories import make_event, make_partner, make_trip
from widget_server.domain.pledges import backlog, trip_outcomes
from widget_server.extensions import db
from widget_server.models import Pledge, SimulatedPayment, Trip
from widget_server.models.types import utcnow


@pytest.fixture
def shop(app):
    """A partner with an open trip (capacity 6, confirms at 3) and the URLs to reach it."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=6, min_riders=3)
        ids = {"partner": partner.slug, "trip": trip.id, "event": trip.event_id}
        ids["stops"] = [stop.id for stop in trip.stops]
    ids["base"] = f"/w/{ids['partner']}/api"
    return ids


def pledge_body(shop, **fields):
    body = {
        "stop_id": shop["stops"][0],
        "seats": 1,
        "name": "Pat Fan",
        "email": "pat@example.com",
        "payment_method": "pm_card_visa",
    }
    body.update(fields)
    return body


def pledge(client, shop, **fields):
    return client.post(
        f"{shop['base']}/trips/{shop['trip']}/pledges", json=pledge_body(shop, **fields)
    )


def trip_row(app, trip_id) -> Trip:
    with app.app_context():
        return db.session.get(Trip, trip_id)


def charges(app) -> list[SimulatedPayment]:
    with app.app_context():
        return list(
            db.session.scalars(select(SimulatedPayment).where(SimulatedPayment.kind == "charge"))
        )


def test_events_and_trips_show_public_progress(client, shop):
    events = client.get(f"{shop['base']}/events").json["data"]
    assert [event["id"] for event in events] == [shop["event"]]
    pledge(client, shop, seats=2)
    trips = client.get(f"{shop['base']}/trips?event_id={shop['event']}").json["data"]
    assert trips[0]["seats_pledged"] == 2 and trips[0]["seats_remaining"] == 4
    assert trips[0]["min_riders"] == 3 and trips[0]["status"] == "open"
    detail = client.get(f"{shop['base']}/trips/{shop['trip']}").get_data(as_text=True)
    assert "pat@example.com" not in detail and "Pat Fan" not in detail


def test_trips_need_an_event_id(client, shop):
    response = client.get(f"{shop['base']}/trips")
    assert response.status_code == 422
    assert response.json["errors"] == {"event_id": ["is required"]}


def test_pledge_is_created_with_a_working_manage_link(client, shop):
    response = pledge(client, shop, seats=2)
    assert response.status_code == 201
    body = response.json
    assert body["pledge"]["status"] == "pledged"
    assert body["pledge"]["amount"] == 2 * 3500 and body["pledge"]["currency"] == "USD"
    token = body["manage_url"].rsplit("/", 1)[-1]
    assert body["manage_url"].startswith("http://127.0.0.1:8000/w/kc-chiefs/manage/")
    managed = client.get(f"{shop['base']}/manage/{token}").json
    assert managed["pledge"]["id"] == body["pledge"]["id"] and managed["can_withdraw"] is True
    assert client.get(f"{shop['base']}/manage/{token}x").status_code == 404


def test_bad_input_names_every_field(client, shop):
    response = client.post(
        f"{shop['base']}/trips/{shop['trip']}/pledges",
        json={"seats": 11, "email": "nope", "name": "", "extra": 1},
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.json["errors"]
    assert set(errors) == {"seats", "email", "name", "stop_id", "payment_method", "extra"}
    url = f"{shop['base']}/trips/{shop['trip']}/pledges"
    assert client.post(url, data="x").status_code == 415  # not declared JSON
    not_json = client.post(url, data="x", content_type="application/json")
    assert not_json.status_code == 400 and "_body" in not_json.json["errors"]
    assert client.post(url, json=[1]).json["errors"] == {"_body": ["not JSON"]}


def test_unknown_stop_and_declined_card_are_field_errors(client, shop):
    wrong_stop = pledge(client, shop, stop_id="stp_other")
    assert wrong_stop.status_code == 422 and "stop_id" in wrong_stop.json["errors"]
    declined = pledge(client, shop, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    assert declined.status_code == 422
    assert declined.json["type"].endswith("/card-declined")
    assert declined.json["errors"]["payment_method"] == ["Your card has insufficient funds."]


def test_sold_out_is_a_409_and_takes_nothing(app, client, shop):
    assert pledge(client, shop, seats=5).status_code == 201
    response = pledge(client, shop, seats=2)
    assert response.status_code == 409
    assert response.json["type"].endswith("/sold-out")
    assert "only 1 seat(s) left" in response.json["detail"]
    assert trip_row(app, shop["trip"]).seats_pledged == 5


def test_trip_confirms_at_threshold_and_charges_each_pledge_once(app, client, shop):
    pledge(client, shop, seats=2)
    assert trip_row(app, shop["trip"]).status == "open"
    pledge(client, shop, seats=1, email="second@example.com")
    trip = trip_row(app, shop["trip"])
    assert trip.status == "confirmed" and trip.confirmed_at is not None
    assert "charge_trip" in run_jobs(app)
    with app.app_context():
        statuses = db.session.scalars(select(Pledge.status)).all()
    assert statuses == ["paid", "paid"]
    assert sorted(c.amount for c in charges(app)) == [3500, 7000]
    run_jobs(app)
    with app.app_context():
        assert backlog.find_backlog(db.session).to_charge == []
    assert len(charges(app)) == 2


def test_seats_bought_after_confirmation_are_charged_at_once(app, client, shop):
    pledge(client, shop, seats=3)
    run_jobs(app)
    late = pledge(client, shop, seats=1, email="late@example.com")
    assert late.status_code == 201
    assert late.json["pledge"]["status"] == "paid"
    run_jobs(app)
    assert len(charges(app)) == 2


def test_authentication_required_then_fixed_card_pays(app, client, shop):
    pledge(client, shop, seats=3)
    run_jobs(app)
    response = pledge(client, shop, payment_method="pm_card_authenticationRequired")
    body = response.json
    assert body["pledge"]["status"] == "action_required"
    assert body["pledge"]["grace_expires_at"] is not None
    token = body["manage_url"].rsplit("/", 1)[-1]
    assert client.get(f"{shop['base']}/manage/{token}").json["can_update_card"] is True
    declined = client.post(
        f"{shop['base']}/manage/{token}/payment_method",
        json={"payment_method": "pm_card_chargeDeclined"},
    )
    assert declined.status_code == 422 and "payment_method" in declined.json["errors"]
    fixed = client.post(
        f"{shop['base']}/manage/{token}/payment_method", json={"payment_method": "pm_card_visa"}
    )
    assert fixed.status_code == 200
    assert fixed.json["pledge"]["status"] == "paid"
    run_jobs(app)
    assert [c.status for c in charges(app)].count("succeeded") == 2


def test_unfixed_card_is_dropped_after_grace_and_frees_seats(app, client, shop):
    pledge(client, shop, seats=3)
    run_jobs(app)
    body = pledge(client, shop, seats=2, payment_method="pm_card_chargeCustomerFail").json
    assert body["pledge"]["status"] == "action_required"
    assert trip_row(app, shop["trip"]).seats_pledged == 5
    with app.app_context():
        later = utcnow() + timedelta(hours=49)
        with db.transaction() as session:
            assert backlog.find_backlog(session, now=later).grace_expired == [body["pledge"]["id"]]
            assert trip_outcomes.drop_if_grace_expired(session, body["pledge"]["id"], now=later)
        assert db.session.get(Pledge, body["pledge"]["id"]).status == "dropped"
    trip = trip_row(app, shop["trip"])
    assert trip.seats_pledged == 3 and trip.status == "confirmed"


def test_withdraw_before_confirmation_only(app, client, shop):
    token = pledge(client, shop, seats=2).json["manage_url"].rsplit("/", 1)[-1]
    withdrawn = client.post(f"{shop['base']}/manage/{token}/cancel", json={})
    assert withdrawn.status_code == 200 and withdrawn.json["pledge"]["status"] == "canceled"
    assert trip_row(app, shop["trip"]).seats_pledged == 0
    again = client.post(f"{shop['base']}/manage/{token}/cancel", json={})
    assert again.status_code == 409
    late_token = pledge(client, shop, seats=3).json["manage_url"].rsplit("/", 1)[-1]
    refused = client.post(f"{shop['base']}/manage/{late_token}/cancel", json={})
    assert refused.status_code == 409


def test_change_stop(client, shop):
    token = pledge(client, shop).json["manage_url"].rsplit("/", 1)[-1]
    moved = client.patch(f"{shop['base']}/manage/{token}", json={"stop_id": shop["stops"][1]})
    assert moved.status_code == 200 and moved.json["pledge"]["stop_id"] == shop["stops"][1]
    wrong = client.patch(f"{shop['base']}/manage/{token}", json={"stop_id": "stp_nope"})
    assert wrong.status_code == 422 and "stop_id" in wrong.json["errors"]


def test_missed_deadline_fails_the_trip_and_charges_nobody(app, client, shop):
    pledge(client, shop, seats=2)
    with app.app_context():
        later = utcnow() + timedelta(days=11)
        with db.transaction() as session:
            assert backlog.find_backlog(session, now=later).overdue_trips == [shop["trip"]]
            assert trip_outcomes.fail_trip_if_overdue(session, shop["trip"], now=later)
        assert db.session.scalars(select(Pledge.status)).all() == ["released"]
    trip = trip_row(app, shop["trip"])
    assert trip.status == "failed" and trip.seats_pledged == 0
    run_jobs(app)
    assert charges(app) == []
    assert pledge(client, shop).status_code == 409


def test_canceled_confirmed_trip_refunds_every_paid_pledge(app, client, shop):
    pledge(client, shop, seats=2)
    pledge(client, shop, seats=1, email="b@example.com")
    run_jobs(app)
    with app.app_context(), db.transaction() as session:
        trip_outcomes.cancel_trip(session, db.session.get(Trip, shop["trip"]), actor="test")
    run_jobs(app)
    with app.app_context():
        assert db.session.scalars(select(Pledge.status)).all() == ["refunded", "refunded"]
        refunds = db.session.scalar(
            select(func.sum(SimulatedPayment.amount)).where(SimulatedPayment.kind == "refund")
        )
    assert refunds == 3 * 3500


def test_tenants_are_walled_off(app, client, shop):
    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-team")
        other_trip = make_trip(session, other, event=make_event(session, other))
        other_trip_id = other_trip.id
    token = pledge(client, shop).json["manage_url"].rsplit("/", 1)[-1]
    assert client.get(f"{shop['base']}/trips/{other_trip_id}").status_code == 404
    assert client.get(f"/w/other-team/api/manage/{token}").status_code == 404
    assert client.get("/w/no-such-partner/api/events").status_code == 404
    body = pledge_body(shop, stop_id=shop["stops"][0])
    assert (
        client.post(f"/w/other-team/api/trips/{shop['trip']}/pledges", json=body).status_code == 404
    )


def test_demand_requests_count_each_fan_once(client, shop):
    url = f"{shop['base']}/demand"
    first = client.post(
        url, json={"event_id": shop["event"], "origin": "St. Louis", "email": "a@x.io"}
    )
    assert first.status_code == 201 and first.json["count"] == 1
    same = client.post(
        url, json={"event_id": shop["event"], "origin": "st louis", "email": "A@x.io"}
    )
    assert same.json["count"] == 1
    # Another email from the same network: kept, but demand counts requesting networks.
    made_up = client.post(
        url, json={"event_id": shop["event"], "origin": "St Louis", "email": "b@x.io"}
    )
    assert made_up.status_code == 201 and made_up.json["count"] == 1
    other = client.post(
        url,
        json={"event_id": shop["event"], "origin": "St Louis", "email": "c@x.io"},
        environ_base={"REMOTE_ADDR": "2001:db8:1:2::7"},
    )
    assert other.json["count"] == 2
    same_home = client.post(  # the same IPv6 /64
        url,
        json={"event_id": shop["event"], "origin": "St Louis", "email": "d@x.io"},
        environ_base={"REMOTE_ADDR": "2001:db8:1:2::99"},
    )
    assert same_home.json["count"] == 2
    bad = client.post(url, json={"event_id": "evt_nope", "origin": "", "email": "b"})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"event_id", "origin", "email"}


def test_writes_are_rate_limited_per_address(settings, shop):
    from widget_server import create_app

    app = create_app(settings, RATELIMIT_WIDGET_WRITE="2 per minute")
    client = app.test_client()
    url = f"{shop['base']}/demand"
    body = {"event_id": shop["event"], "origin": "Topeka", "email": "a@x.io"}
    assert [client.post(url, json=body).status_code for _ in range(2)] == [201, 201]
    limited = client.post(url, json=body)
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    app.extensions["ridepledge.engine"].dispose()
