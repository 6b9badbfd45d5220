"""Repeated public reads answered before Flask (`widget_server.fast_reads`): the same answer,
the same budget, the same metrics and logs as Flask's, for less."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, select

from tests.api_helpers import pledge_body
from tests.conftest import empty_all_tables, make_settings
from tests.factories import make_partner, make_trip
from widget_server import create_app
from widget_server.extensions import db
from widget_server.models import Pledge, Trip

ROUTE = "/w/<partner_slug>/api/trips/<trip_id>"
# A request with a cookie always goes through Flask (which could refresh a session).
WITH_COOKIE = {"Cookie": "x=1"}


@pytest.fixture
def cached_app(database_url, migrated_engine, tmp_path):
    """An app whose public reads are cached for a minute, behind one trusted proxy."""
    app = create_app(
        make_settings(
            database_url, tmp_path / "instance", PUBLIC_CACHE_MS="60000", TRUSTED_PROXIES="1"
        )
    )
    reached = []
    app.before_request(lambda: reached.append(1) and None)
    app.reached_flask = reached
    yield app
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


@pytest.fixture
def trip_url(cached_app):
    with cached_app.app_context(), db.transaction() as session:
        partner = make_partner(session, "fast-fc")
        trip = make_trip(session, partner, capacity=40, min_riders=20)
        return f"/w/fast-fc/api/trips/{trip.id}"


def from_address(address: str, **headers) -> dict:
    return {"X-Forwarded-For": address, "X-Request-Id": "req-test", **headers}


def cookie_client(app):
    """A test client that sends the Cookie header it is given (no cookie jar of its own)."""
    return app.test_client(use_cookies=False)


def comparable(response) -> tuple:
    headers = [(k, v) for k, v in response.headers.items() if k != "Date"]
    return response.status, headers, response.get_data()


def latency_count(status: int) -> float:
    value = REGISTRY.get_sample_value(
        "ridepledge_http_request_duration_seconds_count",
        {"method": "GET", "route": ROUTE, "status": str(status)},
    )
    return value or 0.0


def test_a_repeated_read_is_answered_as_flask_answered_it(cached_app, trip_url):
    client = cached_app.test_client()
    first = client.get(trip_url, headers=from_address("198.51.100.1"))
    assert first.status_code == 200 and len(cached_app.reached_flask) == 1
    again = client.get(trip_url, headers=from_address("198.51.100.2"))
    assert len(cached_app.reached_flask) == 1  # answered before Flask
    assert comparable(again) == comparable(first)
    assert again.headers["Date"]
    # Through Flask (a cookie sends it there) the answer is the same again.
    flask_answer = cookie_client(cached_app).get(
        trip_url, headers=from_address("198.51.100.3", **WITH_COOKIE)
    )
    assert len(cached_app.reached_flask) == 2
    assert comparable(flask_answer) == comparable(first)


def test_the_https_answer_is_kept_apart_and_keeps_hsts(cached_app, trip_url):
    client = cached_app.test_client()
    plain = client.get(trip_url, headers=from_address("198.51.100.1"))
    secure = client.get(
        trip_url, headers=from_address("198.51.100.1", **{"X-Forwarded-Proto": "https"})
    )
    assert len(cached_app.reached_flask) == 2
    again = client.get(
        trip_url, headers=from_address("198.51.100.1", **{"X-Forwarded-Proto": "https"})
    )
    assert len(cached_app.reached_flask) == 2
    assert "Strict-Transport-Security" not in plain.headers
    assert comparable(again) == comparable(secure)
    assert again.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_revalidation_gets_the_304_flask_gives(cached_app, trip_url):
    client = cached_app.test_client()
    etag = client.get(trip_url, headers=from_address("198.51.100.1")).headers["ETag"]
    by_flask = cookie_client(cached_app).get(
        trip_url, headers=from_address("198.51.100.1", **WITH_COOKIE, **{"If-None-Match": etag})
    )
    reached = len(cached_app.reached_flask)
    assert reached == 2
    replayed = client.get(trip_url, headers=from_address("198.51.100.1", **{"If-None-Match": etag}))
    assert len(cached_app.reached_flask) == reached
    assert by_flask.status_code == replayed.status_code == 304
    assert comparable(replayed) == comparable(by_flask)
    # Any other If-None-Match (weak, a list, stale) is Flask's to compare.
    weak = client.get(
        trip_url, headers=from_address("198.51.100.1", **{"If-None-Match": "W/" + etag})
    )
    assert len(cached_app.reached_flask) == reached + 1 and weak.status_code == 304
    stale = client.get(trip_url, headers=from_address("198.51.100.1", **{"If-None-Match": '"old"'}))
    assert len(cached_app.reached_flask) == reached + 2 and stale.status_code == 200


def test_replayed_reads_count_in_the_same_budget_and_304s_stay_free(cached_app, trip_url):
    cached_app.config["RATELIMIT_WIDGET_READ"] = "3 per minute"
    client = cached_app.test_client()
    address = from_address("203.0.113.9")
    etag = client.get(trip_url, headers=address).headers["ETag"]  # 1 of 3, through Flask
    revalidate = {**address, "If-None-Match": etag}
    assert [client.get(trip_url, headers=revalidate).status_code for _ in range(10)] == [304] * 10
    assert [client.get(trip_url, headers=address).status_code for _ in range(2)] == [200] * 2
    assert len(cached_app.reached_flask) == 1
    over = client.get(trip_url, headers=address)  # 4 of 3: refused by Flask
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert client.get(trip_url, headers=revalidate).status_code == 429
    assert len(cached_app.reached_flask) == 3
    # Another address behind the same proxy has its own budget.
    assert client.get(trip_url, headers=from_address("203.0.113.10")).status_code == 200


def test_replayed_reads_are_measured_and_logged(cached_app, trip_url, caplog):
    client = cached_app.test_client()
    client.get(trip_url, headers=from_address("198.51.100.1"))
    etag = client.get(trip_url, headers=from_address("198.51.100.1")).headers["ETag"]
    ok_before, not_modified_before = latency_count(200), latency_count(304)
    with caplog.at_level(logging.INFO, logger="ridepledge.access"):
        caplog.clear()  # (logging may be on at INFO already, from an earlier test)
        client.get(trip_url, headers=from_address("198.51.100.1"))
        client.get(trip_url, headers=from_address("198.51.100.1", **{"If-None-Match": etag}))
    assert latency_count(200) == ok_before + 1
    assert latency_count(304) == not_modified_before + 1
    lines = [r for r in caplog.records if r.name == "ridepledge.access"]
    assert [(r.status, r.route, r.request_id, r.client) for r in lines] == [
        (200, ROUTE, "req-test", "198.51.100.1"),
        (304, ROUTE, "req-test", "198.51.100.1"),
    ]


def test_only_plain_successful_public_reads_are_replayed(cached_app, trip_url):
    client = cached_app.test_client()
    missing = trip_url[:-4] + "zzzz"
    assert [client.get(missing).status_code for _ in range(2)] == [404, 404]
    assert len(cached_app.reached_flask) == 2
    for _ in range(2):
        client.get("/livez")
    assert len(cached_app.reached_flask) == 4
    client.get(trip_url)
    client.head(trip_url)  # not a GET
    assert len(cached_app.reached_flask) == 6


def test_a_replayed_answer_lasts_no_longer_than_its_body(cached_app, trip_url):
    client = cached_app.test_client()
    client.get(trip_url)
    cache = cached_app.extensions["ridepledge.public_cache"]
    cache.clear()  # what expiry does to both
    client.get(trip_url)
    assert len(cached_app.reached_flask) == 2


def test_pledges_take_the_per_process_partner_and_are_all_recorded(cached_app):
    """The pledge route reads the partner from the per-process copy (no query for it), which
    serves one request after another without being attached to any of their sessions."""
    with cached_app.app_context(), db.transaction() as session:
        partner = make_partner(session, "copy-fc")
        trip = make_trip(session, partner, capacity=40, min_riders=20)
        trip_id, stop_id = trip.id, trip.stops[0].id
    engine = cached_app.extensions["ridepledge.engine"]
    partner_queries = []

    def spy(_conn, _cursor, statement, *_args):
        if "FROM partners" in statement:
            partner_queries.append(statement)

    client = cached_app.test_client()
    url = f"/w/copy-fc/api/trips/{trip_id}/pledges"
    first = client.post(url, json=pledge_body(stop_id, email="fan0@example.com"))
    assert first.status_code == 201, first.get_json()
    event.listen(engine, "before_cursor_execute", spy)
    try:
        for index in range(1, 4):
            body = pledge_body(stop_id, email=f"fan{index}@example.com")
            answer = client.post(url, json=body, headers=from_address(f"198.51.100.{index}"))
            assert answer.status_code == 201, answer.get_json()
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert partner_queries == []
    with cached_app.app_context():
        stored = db.session.scalars(select(Pledge.email).where(Pledge.trip_id == trip_id))
        assert sorted(stored) == [f"fan{index}@example.com" for index in range(4)]
        assert db.session.get(Trip, trip_id).seats_pledged == 4
