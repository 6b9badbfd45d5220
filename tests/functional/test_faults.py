"""Faults: PostgreSQL going away mid-burst (through a loopback proxy we cut, never the shared
server), Redis going away and coming back (a redis-server of our own), a partner's webhook
receiver down for hours (simulated time)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import empty_all_tables, make_settings, run_jobs
from tests.factories import make_partner, make_trip
from tests.fakes.tcp_proxy import TcpProxy
from tests.functional import webhook_helpers
from tests.functional.webhook_helpers import (
    Receiver,
    add_endpoint,
    deliveries,
    open_trip,
    pass_time,
    pledge,
)
from tests.services import postgres_url, require
from widget_server import create_app
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Pledge, SimulatedPayment, Trip

partner_id = webhook_helpers.partner_id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pledge_body(stop_id: str, index: int) -> dict:
    return {
        "stop_id": stop_id,
        "seats": 1,
        "name": "Fan",
        "email": f"fan{index}@faults.example",
        "payment_method": "pm_card_visa",
    }


def _seats_exact(app, trip_id: str) -> tuple[int, int]:
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        stored = db.session.scalar(
            select(func.coalesce(func.sum(Pledge.seats), 0)).where(Pledge.trip_id == trip_id)
        )
        return trip.seats_pledged, stored


def test_postgres_gone_mid_burst_gives_503s_then_recovers(migrated_engine, tmp_path):
    url = postgres_url()
    require("postgres", url is not None, "TEST_DATABASE_URL is not a PostgreSQL URL")
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname, parts.port or 5432)
    through = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    app = create_app(make_settings(through, tmp_path / "i", DB_POOL_TIMEOUT="2"))
    try:
        with app.app_context(), db.transaction() as session:
            trip = make_trip(session, make_partner(session, "pg-fc"), capacity=50, min_riders=40)
            trip_id, stop_id = trip.id, trip.stops[0].id
        client = app.test_client()
        url_path = f"/w/pg-fc/api/trips/{trip_id}/pledges"
        answers = []
        for index in range(12):
            if index == 4:
                proxy.cut()  # the database "restarts": connections drop, new ones refused
            if index == 8:
                proxy.restore()
            response = client.post(url_path, json=_pledge_body(stop_id, index))
            answers.append(response.status_code)
            if response.status_code == 503:
                assert response.mimetype == "application/problem+json"
                assert response.headers["Retry-After"]
                assert "nothing was saved" in response.get_json()["detail"]
        assert answers[:4] == [201] * 4
        assert set(answers[4:8]) == {503}
        assert answers[8:] == [201] * 4  # the pool reconnects by itself
        assert client.get("/readyz").status_code == 200
        # Nothing half-written: the seats match the pledges stored, one per 201.
        assert _seats_exact(app, trip_id) == (8, 8)
    finally:
        app.extensions["ridepledge.engine"].dispose()
        proxy.stop()
        empty_all_tables(migrated_engine)


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own on a free port (never the shared one)."""
    binary = shutil.which("redis-server")
    require("redis", binary is not None, "redis-server is not installed")
    port = _free_port()

    def start():
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return process
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    state = {"process": start()}

    class Control:
        url = f"redis://127.0.0.1:{port}/0"

        def stop(self):
            state["process"].terminate()
            state["process"].wait(timeout=10)

        def start(self):
            state["process"] = start()

    yield Control()
    if state["process"].poll() is None:
        state["process"].terminate()
        state["process"].wait(timeout=10)


def test_redis_gone_and_back_keeps_pledging_and_the_queue_catches_up(
    database_url, migrated_engine, tmp_path, own_redis
):
    app = create_app(make_settings(database_url, tmp_path / "i", REDIS_URL=own_redis.url))
    try:
        with app.app_context(), db.transaction() as session:
            trip = make_trip(session, make_partner(session, "redis-down"), capacity=5, min_riders=2)
            trip_id, stop_id = trip.id, trip.stops[0].id
        client = app.test_client()
        url_path = f"/w/redis-down/api/trips/{trip_id}/pledges"
        assert client.post(url_path, json=_pledge_body(stop_id, 1)).status_code == 201
        own_redis.stop()
        # Redis is away: the pledge that confirms the trip still succeeds (the database is the
        # truth; the queue is only a doorbell), readiness says Redis is down.
        assert client.post(url_path, json=_pledge_body(stop_id, 2)).status_code == 201
        assert client.get("/readyz").get_json()["checks"]["redis"] == "down"
        own_redis.start()
        assert client.get("/readyz").status_code == 200
        with app.app_context():
            tasks.sweep()  # the minute sweep finds the charges nobody was told about
        run_jobs(app)
        with app.app_context():
            statuses = list(
                db.session.scalars(select(Pledge.status).where(Pledge.trip_id == trip_id))
            )
            charges = db.session.scalar(select(func.count()).select_from(SimulatedPayment))
        assert statuses == ["paid", "paid"]
        assert charges == 2  # each charged once, however often the jobs and the sweep ran
        assert _seats_exact(app, trip_id) == (2, 2)
    finally:
        app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)


def test_a_receiver_down_for_hours_gets_everything_in_order_when_back(app, client, partner_id):
    port = _free_port()
    endpoint_id, _ = add_endpoint(
        app, partner_id, f"http://127.0.0.1:{port}/hooks/ridepledge", events=["pledge.created"]
    )
    trip = open_trip(app, partner_id, capacity=10, min_riders=8)
    for index in range(4):
        pledge(client, trip, email=f"fan{index}@example.com")
    for _ in range(5):  # ~7.5 hours of the retry schedule pass with nobody listening
        run_jobs(app)
        pass_time(app)
    rows = deliveries(app, endpoint_id)
    assert [row.status for row in rows] == ["pending"] * 4  # nothing lost, nothing skipped
    assert rows[0].attempt_count >= 5 and all(row.attempt_count == 0 for row in rows[1:])
    receiver = Receiver(port=port)  # the partner's server is back on its old address
    try:
        for _ in range(6):
            pass_time(app)
            run_jobs(app)
        rows = deliveries(app, endpoint_id)
        assert [row.status for row in rows] == ["succeeded"] * 4
        assert receiver.ids(200) == [row.message_id for row in rows]  # in order, each once
    finally:
        receiver.stop()
