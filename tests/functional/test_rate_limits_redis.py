"""With REDIS_URL every process (gunicorn worker, host) shares one count; without Redis
answering, requests are still served, counted in memory meanwhile."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import empty_all_tables, make_settings
from tests.factories import make_partner, make_trip
from tests.functional.test_redis import redis_settings  # noqa: F401 (fixture)
from widget_server import create_app
from widget_server.extensions import db

GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
def two_workers(redis_settings, migrated_engine):  # noqa: F811
    """Two apps on one Redis, as two gunicorn workers (or two hosts) run them."""
    apps = [
        create_app(
            redis_settings, RATELIMIT_OAUTH_CLIENT="3 per minute", RATELIMIT_FAN="3 per minute"
        )
        for _ in range(2)
    ]
    yield apps
    for app in apps:
        app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


@pytest.mark.redis
def test_oauth_token_budget_is_shared_by_every_worker(two_workers):
    first, second = (app.test_client() for app in two_workers)
    assert first.application.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    codes = [
        client.post("/oauth/token", data=GRANT, auth=("cli_shared", "wrong")).status_code
        for client in (first, second, first)
    ]
    assert codes == [401, 401, 401]
    assert second.post("/oauth/token", data=GRANT, auth=("cli_shared", "x")).status_code == 429


@pytest.mark.redis
def test_a_fans_budget_is_shared_by_every_worker(two_workers):
    first_app = two_workers[0]
    with first_app.app_context(), db.transaction() as session:
        trip = make_trip(session, make_partner(session, "limits"), capacity=40, min_riders=30)
        url = f"/w/limits/api/trips/{trip.id}/pledges"
        body = {
            "stop_id": trip.stops[0].id,
            "seats": 1,
            "name": "Bot",
            "email": "bot@example.com",
            "payment_method": "pm_card_visa",
        }
    clients = [app.test_client() for app in two_workers]
    codes = [clients[n % 2].post(url, json=body).status_code for n in range(4)]
    assert codes == [201, 201, 201, 429]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_redis_answering_requests_are_still_served(database_url, migrated_engine, tmp_path):
    settings = make_settings(
        database_url, tmp_path / "instance", REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0"
    )
    app = create_app(settings, RATELIMIT_OAUTH="2 per minute")
    try:
        client = app.test_client()
        codes = [
            client.post("/oauth/token", data=GRANT, auth=("cli_x", "x")).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]  # counted in memory while Redis is away
        assert client.get("/healthz").status_code in (200, 503)
    finally:
        app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)


@pytest.mark.redis
def test_two_workers_share_the_read_budget_in_redis(
    database_url,
    migrated_engine,
    tmp_path,
    redis_settings,  # noqa: F811
):
    """Two workers serving the cached trip body count in the one Redis budget."""
    env = {"REDIS_URL": redis_settings.redis_url, "PUBLIC_CACHE_MS": "60000"}
    apps = [create_app(make_settings(database_url, tmp_path / f"w{n}", **env)) for n in range(2)]
    try:
        for app in apps:
            app.config["RATELIMIT_WIDGET_READ"] = "4 per minute"
        with apps[0].app_context(), db.transaction() as session:
            trip = make_trip(session, make_partner(session, "polls"), capacity=40, min_riders=30)
            url = f"/w/polls/api/trips/{trip.id}"
        clients = [app.test_client() for app in apps]
        etag = clients[0].get(url).headers["ETag"]  # 1 of 4
        assert clients[1].get(url).status_code == 200  # 2 of 4
        revalidations = [c.get(url, headers={"If-None-Match": etag}).status_code for c in clients]
        assert revalidations == [304, 304]  # free
        assert [c.get(url).status_code for c in clients] == [200, 200]  # 3 and 4 of 4
        assert [c.get(url).status_code for c in clients] == [429, 429]
    finally:
        for app in apps:
            app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)
