"""Crowds over real HTTP, on SQLite and PostgreSQL: 100 fans race for 30 seats; 50 fans from
50 addresses ask for a trip at once across the demand threshold."""

import http.client
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select, update

from tests.conftest import LiveServer, empty_all_tables, run_jobs
from tests.factories import make_partner, make_trip
from widget_server import create_app
from widget_server.extensions import db
from widget_server.models import (
    AuditLogEntry,
    DemandSignal,
    DemandTally,
    Partner,
    Pledge,
    SimulatedPayment,
    Trip,
)


@pytest.fixture
def crowd_app(settings, migrated_engine):
    """An app without write limits; the database is emptied afterwards, whatever happened."""
    roomy = "10000 per minute"
    app = create_app(settings, RATELIMIT_WIDGET_WRITE=roomy, RATELIMIT_FAN=roomy)
    yield app
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


def crowd_pledges(app, slug: str, trip_id: str, stop_id: str, fans: int, **fields):
    """`fans` fans (fan0@, fan1@...) pledging one seat each at once over real HTTP, with
    `fields` in each body; their responses."""
    server = LiveServer(app).start()
    url = f"{server.url}/w/{slug}/api/trips/{trip_id}/pledges"

    def attempt(index: int) -> requests.Response:
        body = {
            "stop_id": stop_id,
            "seats": 1,
            "name": f"Fan {index}",
            "email": f"fan{index}@example.com",
            "payment_method": "pm_card_visa",
            **fields,
        }
        return requests.post(url, json=body, timeout=60)

    try:
        with ThreadPoolExecutor(max_workers=fans) as pool:
            return list(pool.map(attempt, range(fans)))
    finally:
        server.stop()


def test_100_concurrent_pledges_for_30_seats(crowd_app):
    app = crowd_app
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "crowd")
        trip = make_trip(session, partner, capacity=30, min_riders=30)
        trip_id, stop_id = trip.id, trip.stops[0].id
    responses = crowd_pledges(app, "crowd", trip_id, stop_id, 100)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 30 + [409] * 70
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"].endswith("/sold-out")
    with app.app_context():
        session = db.session
        trip = session.get(Trip, trip_id)
        assert (trip.seats_pledged, trip.status) == (30, "confirmed")
        assert session.scalar(select(func.sum(Pledge.seats))) == 30
        confirmations = select(func.count()).where(AuditLogEntry.action == "trip.confirmed")
        assert session.scalar(confirmations) == 1
        run_jobs(app)
        paid = session.scalar(select(func.count()).where(Pledge.status == "paid"))
        charged = session.scalar(select(func.sum(SimulatedPayment.amount)))
    assert paid == 30 and charged == 30 * trip.unit_amount


def _post_from(address: str, port: int, path: str, body: dict) -> int:
    """POST from the loopback address `address` (all of 127.0.0.0/8 is ours to bind)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=60, source_address=(address, 0)
    )
    try:
        payload = json.dumps(body)
        connection.request("POST", path, payload, {"Content-Type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_50_concurrent_demand_requests_across_the_threshold_fire_once(crowd_app):
    app = crowd_app
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "demand-crowd")
        session.execute(update(Partner).where(Partner.id == partner.id).values(demand_threshold=25))
        event_id = make_trip(session, partner).event_id
    server = LiveServer(app).start()
    port = int(server.url.rsplit(":", 1)[1])
    path = "/w/demand-crowd/api/demand"

    def ask(index: int) -> int:
        body = {"event_id": event_id, "origin": "Topeka", "email": f"fan{index}@example.com"}
        return _post_from(f"127.0.1.{index + 1}", port, path, body)

    def ask_again(index: int) -> int:  # the same fan from another address, at the same time
        body = {"event_id": event_id, "origin": "topeka", "email": "twice@example.com"}
        return _post_from(f"127.0.2.{index + 1}", port, path, body)

    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            codes = list(pool.map(ask, range(50)))
            again = list(pool.map(ask_again, range(10)))
    finally:
        server.stop()
    assert codes == [201] * 50 and again == [201] * 10
    with app.app_context():
        session = db.session
        crossings = select(func.count()).where(AuditLogEntry.action == "demand.threshold_reached")
        assert session.scalar(crossings) == 1
        tally = session.scalar(select(DemandTally))
        assert tally.count == 51 and tally.threshold_reached_at is not None
        twice = select(func.count()).where(DemandSignal.email == "twice@example.com")
        assert session.scalar(twice) == 1
