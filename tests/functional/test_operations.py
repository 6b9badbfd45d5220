"""Production mode: liveness, readiness, metrics access, trusted proxies, 503 when a backing
service is gone, and the minute sweep running once across many workers."""

import threading

import pytest

from tests.conftest import empty_all_tables, make_settings
from tests.factories import make_partner, make_trip
from widget_server import create_app
from widget_server.extensions import db
from widget_server.jobs.periodic import run_once_per_period
from widget_server.models import PeriodicRun


@pytest.fixture
def build_app(database_url, migrated_engine, tmp_path):
    """create_app with extra environment settings; engines are disposed afterwards."""
    apps = []

    def build(url=None, **env):
        app = create_app(make_settings(url or database_url, tmp_path / f"i{len(apps)}", **env))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


def test_livez_and_readyz_answer_when_everything_is_up(client):
    assert client.get("/livez").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {
        "database": "ok",
        "redis": "not_configured",
        "migrations": "ok",
    }


def test_readyz_is_503_before_migrations(build_app, tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'empty.db'}")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"] == "behind"
    assert app.test_client().get("/livez").status_code == 200


def test_readyz_is_503_when_redis_does_not_answer(build_app):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = build_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"] == "down"


def test_metrics_answer_loopback_only_without_a_token(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"ridepledge_http_request_duration_seconds" in response.data
    assert b"ridepledge_queue_depth" in response.data
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert remote.status_code == 401
    assert remote.mimetype == "application/problem+json"


def test_metrics_need_the_bearer_token_when_one_is_set(build_app):
    client = build_app(METRICS_TOKEN="m-token-123").test_client()
    assert client.get("/metrics").status_code == 401  # even from loopback
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer m-token-123"})
    assert right.status_code == 200


def test_metrics_answer_nothing_without_the_token_in_production(build_app):
    """Issue 19: in production a client on the app port that names 127.0.0.1 in
    X-Forwarded-For (the proxy trusted) gets nothing, and nor does loopback itself."""
    client = build_app(RIDEPLEDGE_PRODUCTION="1", TRUSTED_PROXIES="1").test_client()
    spoofed = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.status_code == 401 and b"ridepledge_" not in spoofed.get_data()
    assert client.get("/metrics").status_code == 401
    with_token = build_app(RIDEPLEDGE_PRODUCTION="1", METRICS_TOKEN="m-token-123").test_client()
    answer = with_token.get("/metrics", headers={"Authorization": "Bearer m-token-123"})
    assert answer.status_code == 200 and b"ridepledge_" in answer.get_data()


def test_serve_refuses_to_start_without_a_metrics_token(tmp_path, monkeypatch):
    """Issue 19: `ridepledge serve` says why and starts nothing."""
    from click.testing import CliRunner

    from widget_server import wsgi_server
    from widget_server.cli import cli

    started = []
    monkeypatch.setattr(wsgi_server, "serve", lambda *args: started.append(args))
    env = {"INSTANCE_PATH": str(tmp_path), "METRICS_TOKEN": "", "RIDEPLEDGE_PRODUCTION": ""}
    refused = CliRunner().invoke(cli, ["serve"], env=env)
    assert refused.exit_code != 0 and "METRICS_TOKEN must be set" in refused.output
    assert started == []
    ok = CliRunner().invoke(cli, ["serve", "--workers", "1"], env={**env, "METRICS_TOKEN": "t"})
    assert ok.exit_code == 0, ok.output
    assert len(started) == 1


def test_metrics_count_pledges_by_outcome(app, client):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "metrics-fc")
        trip = make_trip(session, partner, capacity=1, min_riders=1)
        trip_id, stop_id = trip.id, trip.stops[0].id
    body = {"stop_id": stop_id, "seats": 1, "name": "Fan", "payment_method": "pm_card_visa"}
    url = f"/w/metrics-fc/api/trips/{trip_id}/pledges"
    assert client.post(url, json={**body, "email": "a@fans.example"}).status_code == 201
    assert client.post(url, json={**body, "email": "b@fans.example"}).status_code == 409
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ridepledge_pledges_total{outcome="created"}' in text
    assert 'ridepledge_pledges_total{outcome="sold_out"}' in text
    assert 'route="/w/<partner_slug>/api/trips/<trip_id>/pledges"' in text


@pytest.mark.parametrize(("hops", "loopback_seen"), [(0, True), (1, False)])
def test_forwarded_for_is_trusted_only_for_the_configured_hops(build_app, hops, loopback_seen):
    """The metrics loopback rule shows which client address the app believes."""
    client = build_app(TRUSTED_PROXIES=str(hops)).test_client()
    response = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert (response.status_code == 200) is loopback_seen
    # Only the right-most hop is the load balancer's: a spoofed left-most value is ignored.
    if hops == 1:
        spoofed = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1, 198.51.100.7"})
        assert spoofed.status_code == 401


def test_the_database_gone_is_a_503_problem_not_a_500(build_app):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"
    response = build_app(url).test_client().get("/w/demo/api/events")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    assert response.get_json()["type"].endswith("/service-unavailable")


def test_a_period_runs_once_however_many_workers_race_for_it(app):
    runs = []
    barrier = threading.Barrier(6)

    def worker():
        with app.app_context():
            barrier.wait()
            run_once_per_period("test-period", 3600, lambda: runs.append(1) or {"ok": 1})

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == [1]
    with app.app_context():
        run = db.session.get(PeriodicRun, "test-period")
        assert run.finished_at is not None
        # The same period again: nobody runs it.
        assert run_once_per_period("test-period", 3600, lambda: runs.append(2)) is None
    assert runs == [1]


def test_minute_tick_sweeps_once_per_minute(app):
    from widget_server.jobs.tasks import minute_tick

    with app.app_context():
        first = minute_tick()
        second = minute_tick()
    assert first is not None and "charges" in first
    assert second is None


def test_public_trip_json_comes_from_the_process_cache_for_a_moment(build_app):
    app = build_app(PUBLIC_CACHE_MS="60000")
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "cache-fc")
        trip = make_trip(session, partner, capacity=10, min_riders=5)
        trip_id, stop_id = trip.id, trip.stops[0].id
    client = app.test_client()
    url = f"/w/cache-fc/api/trips/{trip_id}"
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=1, stale-while-revalidate=5"
    assert first.json["seats_pledged"] == 0
    body = {"stop_id": stop_id, "seats": 2, "name": "Fan", "payment_method": "pm_card_visa"}
    pledged = client.post(url + "/pledges", json={**body, "email": "c@fans.example"})
    assert pledged.status_code == 201
    assert client.get(url).json["seats_pledged"] == 0  # still the cached copy
    app.extensions["ridepledge.public_cache"].clear()
    assert client.get(url).json["seats_pledged"] == 2
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_ttl_cache_expires_and_computes_once_per_key():
    from widget_server.public_cache import TTLCache

    now = [0.0]
    cache = TTLCache(1.0, clock=lambda: now[0])
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get_or_set("k", compute) == 1
    assert cache.get_or_set("k", compute) == 1
    now[0] = 1.5
    assert cache.get_or_set("k", compute) == 2
    with pytest.raises(ZeroDivisionError):
        cache.get_or_set("bad", lambda: 1 / 0)
    assert cache.get_or_set("bad", lambda: "fine") == "fine"  # errors are not cached
