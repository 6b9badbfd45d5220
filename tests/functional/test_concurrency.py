"""Seats under a crowd: 100 fans race for 30 seats over real HTTP, on SQLite and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from tests.conftest import LiveServer, run_jobs
from tests.factories import make_partner, make_trip
from widget_server import create_app
from widget_server.extensions import db
from widget_server.models import AuditLogEntry, Pledge, SimulatedPayment, Trip


def test_100_concurrent_pledges_for_30_seats(settings, migrated_engine):
    app = create_app(settings, RATELIMIT_WIDGET_WRITE="10000 per minute")
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "crowd")
        trip = make_trip(session, partner, capacity=30, min_riders=30)
        trip_id, stop_id = trip.id, trip.stops[0].id
    server = LiveServer(app).start()
    url = f"{server.url}/w/crowd/api/trips/{trip_id}/pledges"

    def attempt(index: int) -> requests.Response:
        body = {
            "stop_id": stop_id,
            "seats": 1,
            "name": f"Fan {index}",
            "email": f"fan{index}@example.com",
            "payment_method": "pm_card_visa",
        }
        return requests.post(url, json=body, timeout=60)

    try:
        with ThreadPoolExecutor(max_workers=100) as pool:
            responses = list(pool.map(attempt, range(100)))
    finally:
        server.stop()

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
    app.extensions["ridepledge.engine"].dispose()
