"""The operator's trips: across partners, walled off from other operators, manifests without
fans' contact or payment data, assignment rules, the driver's link, and the operator told of
its trips' outcomes."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.functional.operator_trip_helpers import operator_world
from widget_server.domain import checkin
from widget_server.domain.errors import Conflict, NotFound, ValidationFailed
from widget_server.domain.operators import operator_trips
from widget_server.domain.pledges import trip_outcomes
from widget_server.extensions import db
from widget_server.models import OutboundEmail, Trip, Vehicle, WebhookMessage
from widget_server.models.types import utcnow

SECRET = "test-secret-key"
# What an operator never sees of a fan.
FAN_PRIVATE = {"email", "phone", "amount", "unit_amount", "currency", "status", "payment_method"}


@pytest.fixture
def world(app):
    return operator_world(app)


def keys_of(value) -> set:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def news_of(operator_id: str, event_type: str) -> list[OutboundEmail]:
    return [
        email
        for email in db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.operator_id == operator_id)
        )
        if (email.context or {}).get("event_type") == event_type
    ]


def test_trips_across_partners_and_the_walls(app, world):
    with app.app_context():
        mine = db.session.scalars(operator_trips.trips_query(world["operator"])).all()
        assert {t.id for t in mine} == {world["confirmed"], world["royals_trip"]}
        for wrong in (world["others_trip"], world["nobodys_trip"], "trp_nope", None):
            with pytest.raises(NotFound):
                operator_trips.operator_trip(db.session, world["operator"], wrong)


def test_the_manifest_shows_riders_never_their_contact_or_payment(app, world):
    with app.app_context():
        trip = db.session.get(Trip, world["confirmed"])
        manifest = operator_trips.operator_manifest(db.session, trip, secret=SECRET)
    riders = [rider for stop in manifest["stops"] for rider in stop["riders"]]
    assert sorted(r["name"] for r in riders) == ["Ana Paid", "Bo Paid", "Cy Paid"]
    assert all(r["may_board"] and r["boarding_code"] for r in riders)
    assert not keys_of(manifest) & FAN_PRIVATE
    assert "@" not in json.dumps(manifest)


def test_assignment_rules(app, world):
    small, big = world["vehicles"][1], world["vehicles"][0]  # 4 and 50 seats
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, world["confirmed"])  # 3 seats pledged, capacity 40
        with pytest.raises(ValidationFailed) as refused:
            operator_trips.assign(session, world["operator"], trip, actor="test")
        assert "vehicle_id" in refused.value.errors
        for field, other in (("vehicle_id", world["other_vehicle"]), ("driver_id", "drv_x")):
            with pytest.raises(ValidationFailed) as refused:
                operator_trips.assign(session, world["operator"], trip, actor="t", **{field: other})
            assert field in refused.value.errors
        warnings = operator_trips.assign(
            session, world["operator"], trip, vehicle_id=small, actor="test"
        )
        assert trip.vehicle_id == small and warnings[0][0] == "vehicle_below_capacity"
        assert "sells up to 40" in operator_trips.warning_text(warnings[0])
        assert (
            operator_trips.assign(session, world["operator"], trip, vehicle_id=big, actor="test")
            == []
        )
        trip.capacity, trip.seats_pledged = 40, 5  # more pledged than the small bus seats
        with pytest.raises(Conflict):
            operator_trips.assign(session, world["operator"], trip, vehicle_id=small, actor="t")
        session.get(Vehicle, big).active = False
        with pytest.raises(ValidationFailed):
            operator_trips.assign(session, world["operator"], trip, vehicle_id=big, actor="t")
        session.rollback()


def test_assigning_a_driver_emails_a_new_link_and_ends_the_old(app, world):
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, world["confirmed"])
        old = checkin.new_driver_link(session, trip, actor="partner")
        warnings = operator_trips.assign(
            session, world["operator"], trip, driver_id=world["driver"], actor="op"
        )
        assert warnings == [] and trip.driver_id == world["driver"]
        assert not checkin.link_is_live(old, trip)
        assert checkin.current_driver_link(trip).generation == old.generation + 1
        # The same driver again: nothing new is sent.
        operator_trips.assign(
            session, world["operator"], trip, driver_id=world["driver"], actor="o"
        )
        again = operator_trips.reissue_driver_link(session, world["operator"], trip, actor="op")
        assert again.generation == old.generation + 2
    with app.app_context():
        emails = db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.kind == "driver_link")
        ).all()
        assert [e.to_address for e in emails] == ["dana@coach.example"] * 2


def test_a_draft_trip_takes_a_driver_without_a_link(app, world):
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, world["royals_trip"])
        trip.status = "draft"
        warnings = operator_trips.assign(
            session, world["operator"], trip, driver_id=world["driver"], actor="op"
        )
        assert warnings == [("link_when_open", {})]
        with pytest.raises(Conflict):
            operator_trips.reissue_driver_link(session, world["operator"], trip, actor="op")


def test_the_operator_hears_of_each_outcome_once(app, world):
    with app.app_context():
        assert len(news_of(world["operator"], "trip.confirmed")) == 1  # the third pledge
        assert news_of(world["other_operator"], "trip.confirmed") == []
    later = utcnow() + timedelta(days=60)
    with app.app_context(), db.transaction() as session:
        trip_outcomes.cancel_trip(session, session.get(Trip, world["royals_trip"]), actor="p")
        session.get(Trip, world["others_trip"]).pledge_deadline = utcnow() - timedelta(days=1)
        session.flush()
        assert trip_outcomes.fail_trip_if_overdue(session, world["others_trip"])
        assert trip_outcomes.complete_trip_if_done(session, world["confirmed"], now=later)
        assert not trip_outcomes.complete_trip_if_done(session, world["confirmed"], now=later)
        # Nobody's trip tells nobody.
        trip_outcomes.cancel_trip(session, session.get(Trip, world["nobodys_trip"]), actor="p")
    with app.app_context():
        assert len(news_of(world["operator"], "trip.canceled")) == 1
        assert len(news_of(world["other_operator"], "trip.failed")) == 1
        assert len(news_of(world["operator"], "trip.completed")) == 1
        (news,) = news_of(world["operator"], "trip.completed")
        assert news.context["data"]["id"] == world["confirmed"]
        assert news.context["data"]["partner"] == {"slug": "kc-chiefs", "name": "Kc Chiefs"}
        assert not keys_of(news.context["data"]) & (FAN_PRIVATE - {"status"})  # the trip's
        total = db.session.query(OutboundEmail).filter(OutboundEmail.operator_id.is_not(None))
        assert total.count() == 4
        assert db.session.query(WebhookMessage).filter_by(type="trip.completed").count() == 0


def test_the_departure_is_told_to_the_operator_and_the_partner_once(app, world):
    from widget_server.domain import departures

    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, world["confirmed"])
        link = checkin.new_driver_link(session, trip, actor="test")
        for device in ("Phone A", "Phone B"):
            answer = departures.leave_stop(
                session,
                trip,
                trip.stops[-1].id,
                client_id=device,
                happened_at=utcnow(),
                device=device,
                link=link,
            )
            assert answer["departed_by"] == "Phone A" and answer["trip_departed_at"]
    with app.app_context():
        (news,) = news_of(world["operator"], "trip.departed")
        assert news.context["data"]["departed_at"] == answer["trip_departed_at"]
        assert news_of(world["other_operator"], "trip.departed") == []
