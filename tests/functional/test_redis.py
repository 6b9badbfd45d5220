"""With REDIS_URL: the job queue and the rate limits live in Redis (shared by every process)."""

import pytest
import redis as redis_client
from huey import RedisHuey

from tests.conftest import make_settings, run_jobs
from tests.factories import make_partner, make_trip
from tests.services import redis_url, require
from widget_server import create_app
from widget_server.extensions import db
from widget_server.models import Pledge


def _redis_answers(url: str | None) -> bool:
    if not url:
        return False
    try:
        return redis_client.Redis.from_url(url).ping()
    except redis_client.RedisError:
        return False


@pytest.fixture
def redis_settings(database_url, migrated_engine, tmp_path):
    url = redis_url()
    require("redis", _redis_answers(url), "TEST_REDIS_URL is unset or Redis does not answer")
    redis_client.Redis.from_url(url).flushdb()
    yield make_settings(database_url, tmp_path / "instance", REDIS_URL=url)
    redis_client.Redis.from_url(url).flushdb()


def test_jobs_go_through_redis(redis_settings, migrated_engine):
    from tests.conftest import empty_all_tables

    app = create_app(redis_settings)
    try:
        assert isinstance(app.extensions["ridepledge.huey"], RedisHuey)
        with app.app_context(), db.transaction() as session:
            partner = make_partner(session, "redis-fc")
            trip = make_trip(session, partner, capacity=4, min_riders=2)
            trip_id, stop_id = trip.id, trip.stops[0].id
        client = app.test_client()
        for index in range(2):
            response = client.post(
                f"/w/redis-fc/api/trips/{trip_id}/pledges",
                json={
                    "stop_id": stop_id,
                    "seats": 1,
                    "name": "Fan",
                    "email": f"f{index}@x.io",
                    "payment_method": "pm_card_visa",
                },
            )
            assert response.status_code == 201
        assert app.extensions["ridepledge.huey"].pending_count() > 0
        names = run_jobs(app)
        assert "charge_trip" in names, names
        with app.app_context():
            assert {p.status for p in db.session.query(Pledge)} == {"paid"}
    finally:
        app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)


def test_rate_limits_are_shared_between_processes(redis_settings, migrated_engine):
    from tests.conftest import empty_all_tables

    first = create_app(redis_settings, RATELIMIT_WIDGET_WRITE="2 per minute")
    second = create_app(redis_settings, RATELIMIT_WIDGET_WRITE="2 per minute")
    try:
        assert first.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
        with first.app_context(), db.transaction() as session:
            event_id = make_trip(session, make_partner(session, "limits")).event_id
        body = {"event_id": event_id, "origin": "Topeka", "email": "a@x.io"}
        assert first.test_client().post("/w/limits/api/demand", json=body).status_code == 201
        assert second.test_client().post("/w/limits/api/demand", json=body).status_code == 201
        limited = first.test_client().post("/w/limits/api/demand", json=body)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    finally:
        for app in (first, second):
            app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)
