"""The HTTP basics over a real server: health, request ids, problem+json, the landing page."""

import requests
from flask import abort

from tests.conftest import LiveServer, make_settings
from widget_server import create_app
from widget_server.demo_data import seed_demo
from widget_server.domain.partners import load_partner_files, upsert_partner
from widget_server.extensions import db


def test_healthz_answers_ok(live_server):
    response = requests.get(f"{live_server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"].startswith("req_")


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    app = create_app(make_settings(f"sqlite:///{missing}", tmp_path / "instance"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get("/healthz", headers={"X-Request-Id": "partner-abc.123"})
    assert echoed.headers["X-Request-Id"] == "partner-abc.123"
    unsafe = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert unsafe.headers["X-Request-Id"].startswith("req_")


def test_api_paths_answer_problem_json(client):
    for path in ("/v1/nothing-here", "/oauth/nothing", "/w/demo/api/nothing"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        body = response.json
        assert body["status"] == 404 and body["title"] == "Not Found"
        assert body["type"].endswith("/not-found")
        assert body["request_id"] == response.headers["X-Request-Id"]


def test_method_not_allowed_is_a_problem_with_allow_header(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_unexpected_errors_leak_no_stack_trace(settings):
    app = create_app(settings)

    @app.get("/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/page/boom")
    def page_boom():
        abort(500)

    client = app.test_client()
    response = client.get("/v1/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    html = client.get("/page/boom", headers={"Accept": "text/html"})
    assert html.status_code == 500 and html.mimetype == "text/html"


def test_html_pages_get_an_html_error_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not Found" in response.get_data(as_text=True)


def test_landing_page_lists_partners_events_and_trips(app):
    from tests.unit.test_partner_config import SHIPPED

    app.config["SETTINGS"].demo_mode = True  # as `ridepledge demo` sets it
    with app.app_context():
        partners, _ = load_partner_files(SHIPPED)
        with db.transaction() as session:
            for data in partners:
                upsert_partner(session, data, actor="test")
            created = seed_demo(session)
        with db.transaction() as session:
            assert seed_demo(session) == []  # idempotent
    assert len(created) == 5
    server = LiveServer(app).start()
    try:
        page = requests.get(server.url + "/", timeout=5).text
    finally:
        server.stop()
    assert "RidePledge is running" in page
    assert "Demo City FC" in page and "Atlético Visitante" in page
    assert "Springfield: open, 0 of 40 seats" in page
    assert "confirms at 25" in page


def test_errors_raised_before_views_still_carry_the_request_id(client):
    response = client.get("/w/no-such-partner/api/events", headers={"X-Request-Id": "abc-1"})
    assert response.status_code == 404
    assert response.json["request_id"] == "abc-1" == response.headers["X-Request-Id"]
