"""One text rule set for every input: the API, the widget API, the widget's forms and partner
files refuse control characters and lone surrogates with a 422 naming the field, normalise
emails and phone numbers, and ids in paths, queries and bodies are checked as ids."""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from tests.api_helpers import partner_with_open_trip, pledge_body
from widget_server.domain.partners import load_partner_files
from widget_server.domain.text import clean_text
from widget_server.extensions import db
from widget_server.models import Event, Partner, Pledge, Trip
from widget_server.models.types import rfc3339, utcnow
from widget_server.path_ids import is_id_variable

BAD_TEXT = ["a\x00b", "bell\x07", "esc\x1b[31m", "rtl\u202eevil", "line\nbreak", "cr\r", "\ud800"]
IN_A_MONTH = rfc3339(utcnow() + timedelta(days=30))
EVENT = {"title": "A", "venue": "B", "starts_at": IN_A_MONTH, "timezone": "UTC"}


@pytest.fixture
def world(app, client):
    return partner_with_open_trip(app, client)


def _pledge(world, **fields):
    return pledge_body(world["stop"]) | fields


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _post_raw(client, url, body, headers=None):
    # json.dumps escapes a lone surrogate as \ud800, exactly what an attacker sends.
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers or {})


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_api_text_fields_refuse_control_characters(app, world, bad):
    api = world["api"]
    response = api.post(
        "/v1/events", data=json.dumps(EVENT | {"title": bad}), content_type="application/json"
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.json["errors"]) == ["title"]
    patched = api.patch(
        "/v1/partner", data=json.dumps({"name": bad}), content_type="application/json"
    )
    assert patched.status_code == 422 and list(patched.json["errors"]) == ["name"]
    assert _count(app, Event) == 1  # the fixture's only
    with app.app_context():
        assert db.session.scalar(select(Partner.name)) == "Kc Chiefs"


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_widget_text_fields_refuse_control_characters(app, client, world, bad):
    for field in ("name", "email", "payment_method"):
        response = _post_raw(client, world["pledges"], _pledge(world, **{field: bad}))
        assert response.status_code == 422, response.get_data(as_text=True)
        assert list(response.json["errors"]) == [field]
    assert _count(app, Pledge) == 0


def test_emails_and_phones_are_normalised(app, client, world):
    response = client.post(
        world["pledges"], json=_pledge(world, email="  Pat@Example.COM ", phone="(816) 555-0100")
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        pledge = db.session.scalar(select(Pledge))
        assert (pledge.email, pledge.phone) == ("Pat@example.com", "+18165550100")
    bad_phone = client.post(world["pledges"], json=_pledge(world, phone="12"))
    assert bad_phone.status_code == 422 and list(bad_phone.json["errors"]) == ["phone"]
    trip = world["api"].patch(
        f"/v1/trips/{world['trip']}", json={"operator": {"phone": "555", "email": "x@Y.COM"}}
    )
    assert trip.status_code == 422 and list(trip.json["errors"]) == ["operator.phone"]


def test_ids_in_queries_and_bodies_are_a_422_naming_the_field(app, client, world):
    api = world["api"]
    for path, field in [
        ("/v1/trips?event_id=%00", "event_id"),
        ("/v1/trips?event_id=trp_01jd2x3y4z5a6b7c8d9e0f1g2h", "event_id"),  # wrong kind
        ("/v1/pledges?trip_id=" + "x" * 5000, "trip_id"),
        ("/v1/webhook_deliveries?endpoint_id=we_", "endpoint_id"),
        ("/v1/demand?event_id=evt_%E2%80%AE", "event_id"),
        ("/v1/events?cursor=%07", "cursor"),
        ("/v1/events?cursor=" + "x" * 500, "cursor"),
    ]:
        response = api.get(path)
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert list(response.json["errors"]) == [field], path
    widget = client.get("/w/kc-chiefs/api/trips?event_id=%00")
    assert widget.status_code == 422 and list(widget.json["errors"]) == ["event_id"]
    trip = api.post("/v1/trips", json={"event_id": "evt_\x00"})
    assert "event_id" in trip.json["errors"]
    stop = client.post(world["pledges"], json=_pledge(world, stop_id="stp_'; DROP TABLE x"))
    assert list(stop.json["errors"]) == ["stop_id"]
    assert (_count(app, Trip), _count(app, Pledge)) == (1, 0)


def test_garbage_ids_in_every_path_are_404(app, client, world):
    """Every route with an id variable, from the URL map (so new routes are covered)."""
    api = world["api"]
    garbage = ["x", "%00", "evt_" + "Z" * 26, "trp_%ED%A0%80", "a" * 3000]
    checked = 0
    for rule in app.url_map.iter_rules():
        names = [name for name in rule.arguments if is_id_variable(name)]
        variables = set(rule.arguments)
        if not names:
            continue
        for bad in garbage:
            values = {name: "__ID__" for name in rule.arguments}
            values["partner_slug"] = "kc-chiefs"
            path = rule.build(values, append_unknown=False)[1].replace("__ID__", bad)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = api.client.open(path, method=method, json={}, headers=api._headers(None))
                assert response.status_code == 404, (method, path, response.status_code)
                # Refused by the shape check, before any query (on PostgreSQL a NUL is a 500);
                # a driver link's route refuses its token first, which is as good.
                if response.mimetype == "application/problem+json" and "token" not in variables:
                    assert "is not an id" in response.json["detail"], (method, path)
                checked += 1
    assert checked > 50


def test_partner_files_refuse_control_characters(tmp_path):
    (tmp_path / "fans.toml").write_text('slug = "fans"\nname = "Evil\\u202eName"\n')
    partners, problems = load_partner_files(tmp_path / "fans.toml")
    assert partners == [] and [p.field for p in problems] == ["name"]


ANY_CHARACTER = st.one_of(
    st.characters(codec=None, categories=None),  # every code point, surrogates included
    st.sampled_from(["\x00", "\x07", "\x1b", "\u202e", "\r", "\n", "\t", "\u0301", " "]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(ANY_CHARACTER, max_size=20))
def test_any_text_is_stored_clean_or_refused_naming_the_field(app, world, value):
    """Whatever a partner sends as a title is stored as the cleaned text, or refused."""
    try:
        expected = clean_text(value, max_length=200) or None
    except ValueError:
        expected = None
    body = json.dumps(EVENT | {"title": value})
    response = world["api"].post("/v1/events", data=body, content_type="application/json")
    if expected is None:
        assert response.status_code == 422, response.get_data(as_text=True)
        assert list(response.json["errors"]) == ["title"]
    else:
        assert response.status_code == 201, response.get_data(as_text=True)
        stored = world["api"].get(f"/v1/events/{response.json['id']}").json["title"]
        assert stored == expected == unicodedata.normalize("NFC", stored)


def test_malformed_ids_and_slugs_never_reach_a_query(app, client, world):
    """Not just 404: the value is refused before SQL (on PostgreSQL a NUL in a query is a 500)."""
    engine = app.extensions["ridepledge.engine"]
    sent: list = []

    def spy(_conn, _cursor, _statement, parameters, _context, _executemany):
        sent.append(repr(parameters))

    marker = "zz\x07marker"
    event.listen(engine, "before_cursor_execute", spy)
    try:
        for path in [
            f"/w/{marker}/api/events",
            f"/w/{marker}/events/{world['event']}",
            f"/w/kc-chiefs/api/trips/{marker}",
            f"/w/kc-chiefs/trips/{marker}/pledge",
            f"/v1/events/{marker}",
        ]:
            response = world["api"].get(path)
            assert response.status_code == 404, path
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert sent, "the spy saw no query at all (bearer-token lookups are queries)"
    assert not [params for params in sent if "marker" in params]
