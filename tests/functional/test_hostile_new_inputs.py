"""Hostile input against what issues 18-20 added: the driver page's check-ins (`made_under`,
`device_id`) and undo, the console's driver link routes, logo preview, time zone picker and
language choice, the widget's `Idempotency-Key` (header and the no-JS form's hidden field),
the withdraw and leave-waitlist questions. Each is a 4xx naming the field (never a 500), and
another partner's object is a 404."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.admin_helpers import csrf, post
from tests.forgery import tampered
from tests.functional.admin.conftest import quick_hashes  # noqa: F401 (fixture)
from tests.functional.admin.test_events_trips import signed_in, world  # noqa: F401
from tests.functional.test_widget_api import pledge, pledge_body, shop  # noqa: F401
from tests.tripday.conftest import trip_day  # noqa: F401 (fixture)
from tests.tripday.helpers import confirmed_trip
from tests.widget_helpers import form_fields
from widget_server.extensions import db
from widget_server.models import Event

HOSTILE_VALUES = [
    "Fan \ud800",
    "Fan\x00",
    "\x1b[31mFan",
    "Fan\u202egnp.exe",
    "x" * 100_000,
    12,
    [],
    {"a": 1},
    True,
    1e308,
]
HOSTILE_TIMES = ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59", "2026-13-45T99:99Z"]
HOSTILE_BODIES = ["[" * 100_000 + "]" * 100_000, "[1,", '"x"', "[]", "null", "1e999999"]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _post_json(client, url: str, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


# --- the driver page ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "at", "device", "device_id", "made_under", "code"])
def test_a_hostile_checkin_field_is_a_422_naming_it(client, trip_day, field):  # noqa: F811
    url = trip_day["url"]
    for value in HOSTILE_VALUES + (HOSTILE_TIMES if field == "at" else []):
        body = {"id": str(uuid.uuid4()), "at": _now(), "device": "Phone A"}
        body["code"] = trip_day["codes"][0]
        body[field] = value
        answer = _post_json(client, f"{url}/checkins", body)
        if field == "code" and answer.status_code == 200:  # a code matching nobody is said so
            assert answer.json["result"] == "unknown", (value, answer.json)
            continue
        assert answer.status_code == 422, (field, repr(value)[:40], answer.status_code)
        assert field in answer.json["errors"], (field, answer.json)


@pytest.mark.parametrize("field", ["pledge_id", "device", "device_id"])
def test_a_hostile_undo_field_is_a_422_naming_it(client, trip_day, field):  # noqa: F811
    for value in HOSTILE_VALUES:
        body = {"pledge_id": trip_day["pledges"][0], field: value}
        answer = _post_json(client, f"{trip_day['url']}/undo", body)
        assert answer.status_code == 422, (field, repr(value)[:40], answer.status_code)
        assert field in answer.json["errors"], (field, answer.json)


def test_hostile_driver_bodies_and_forged_links_are_4xx(client, trip_day):  # noqa: F811
    for raw in HOSTILE_BODIES:
        for endpoint in ("checkins", "undo"):
            answer = client.post(
                f"{trip_day['url']}/{endpoint}", data=raw, content_type="application/json"
            )
            assert 400 <= answer.status_code < 500, (endpoint, raw[:10], answer.status_code)
    for token in ["x", "x" * 5000, "a.b.c", tampered(trip_day["url"].rsplit("/", 1)[1], 3)]:
        answer = client.post(f"/d/{token}/undo", json={"pledge_id": trip_day["pledges"][0]})
        assert answer.status_code == 404, (token[:10], answer.status_code)


def test_a_driver_link_cannot_undo_or_board_another_partners_rider(app, client, trip_day):  # noqa: F811
    other = confirmed_trip(app, "other-team", names=("Zed Paid",))
    undo = client.post(f"{trip_day['url']}/undo", json={"pledge_id": other["pledges"][0]})
    assert undo.status_code == 404
    body = {"id": str(uuid.uuid4()), "at": _now(), "pledge_id": other["pledges"][0]}
    checked = client.post(f"{trip_day['url']}/checkins", json=body)
    assert checked.status_code == 200 and checked.json["pledge"] is None
    assert checked.json["result"] != "ok"


# --- the console --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "starts_at"),
    [
        ("Asia/Tokyo", "0001-01-01T00:00"),  # year 0 once in UTC
        ("America/Chicago", "9999-12-31T23:59"),  # year 10000 once in UTC
        ("UTC", "9999-12-31T23:59"),  # no overflow, but no driver link could ever expire
        ("UTC", "0001-01-02T00:00"),  # shown in Chicago, the year before year 1
    ],
)
def test_console_times_outside_the_window_are_refused_naming_the_field(
    app,
    world,  # noqa: F811
    zone,
    starts_at,
):
    client = signed_in(app, "owner")
    page = f"/admin/events/{world['event']}"
    form = {"title": "Chiefs vs. Raiders", "venue": "Arrowhead", "timezone": zone}
    for path in ("/admin/events/new", page):
        answer = post(client, path, {**form, "starts_at": starts_at}, page=page)
        assert answer.status_code == 422, (path, answer.status_code)
        assert 'id="f-starts_at-error"' in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Event, world["event"]).starts_at.year == 2031
    trip = f"/admin/trips/{world['trip']}"
    assert post(client, f"{trip}/driver_link", page=trip).status_code == 302


def test_console_window_is_said_in_the_admins_language(app, world):  # noqa: F811
    client = signed_in(app, "owner")
    assert post(client, "/admin/account/language", {"locale": "es"}).status_code == 302
    page = f"/admin/events/{world['event']}"
    form = {"title": "T", "venue": "V", "timezone": "UTC", "starts_at": "9999-12-31T23:59"}
    answer = post(client, page, form, page=page)
    assert "Indica una fecha a menos de 5 años de hoy." in answer.get_data(as_text=True)


def test_console_new_routes_refuse_forgery_strangers_and_bad_values(app, world):  # noqa: F811
    client = signed_in(app, "owner")
    trip = f"/admin/trips/{world['trip']}"
    for path in ("driver_link", "driver_link/revoke", "driver_link/email"):
        assert client.post(f"{trip}/{path}", data={"email": "a@b.example"}).status_code == 400
    assert client.post("/admin/account/language", data={"locale": "es"}).status_code == 400
    for locale in ("de", "x" * 10_000, "\x00"):
        answer = post(client, "/admin/account/language", {"locale": locale})
        assert answer.status_code == 422, locale[:5]
    assert post(client, f"{trip}/driver_link", page=trip).status_code == 302
    for email in ("x" * 100_000, "a@b.example\r\nBcc: v@x.example", "Fan\x00@x.example", "nope"):
        answer = post(client, f"{trip}/driver_link/email", {"email": email}, page=trip)
        assert answer.status_code == 422, email[:10]
    other = confirmed_trip(app, "other-team", names=("Zed Paid",))
    for path in ("driver_link", "driver_link/revoke", "driver_link/email"):
        answer = post(client, f"/admin/trips/{other['trip']}/{path}", {"email": "a@b.example"})
        assert answer.status_code == 404, path
    for files in (
        {},
        {"logo": (io.BytesIO(b""), "a.png")},
        {"logo": (io.BytesIO(b"<svg/>"), "a.png")},
    ):
        answer = client.post(
            "/admin/branding/logo_preview",
            data={"csrf_token": csrf(client, "/admin/branding"), **files},
            content_type="multipart/form-data",
        )
        assert answer.status_code == 422 and answer.json["error"]
    for name in ("x" * 5000, "..", "a.png"):
        assert client.get(f"/admin/branding/logo_preview/{name}").status_code == 404


# --- the widget ---------------------------------------------------------------------------


def test_a_hostile_idempotency_key_is_a_422_naming_it(app, client, shop):  # noqa: F811
    app.config["RATELIMIT_FAN"] = "1000 per minute"  # each refused attempt counts
    url = f"{shop['base']}/trips/{shop['trip']}/pledges"
    for key in ("x" * 256, "x" * 100_000, "é", "a\x00b", "a\tb", "\x7f"):
        header = key.encode("utf-8").decode("latin-1")  # as the bytes arrive
        answer = client.post(url, json=pledge_body(shop), headers={"Idempotency-Key": header})
        assert answer.status_code == 422, (repr(key[:5]), answer.status_code)
        assert "Idempotency-Key" in answer.json["errors"]
    page = client.get(f"/w/kc-chiefs/trips/{shop['trip']}/pledge")
    action, hidden = form_fields(page.get_data(as_text=True), "/pledge")
    for key in ("x" * 100_000, "\x00", "é"):
        form = {**hidden, "idempotency_key": key, "stop_id": shop["stops"][0], "seats": "1"}
        form.update(name="Pat", email="pat@example.com", card_number="4242424242424242")
        assert client.post(action, data=form).status_code == 422, repr(key[:5])


def test_withdraw_and_leave_questions_refuse_forged_and_foreign_links(app, client, shop):  # noqa: F811
    token = pledge(client, shop).json["manage_url"].rsplit("/", 1)[-1]
    confirmed_trip(app, "other-team", names=("Zed Paid",))
    for forged in ("x", "x" * 5000, tampered(token, 2)):
        for method in ("get", "post"):
            answer = getattr(client, method)(f"/w/kc-chiefs/manage/{forged}/cancel")
            assert answer.status_code == 404, (method, forged[:5])
            answer = getattr(client, method)(f"/w/kc-chiefs/waitlist/{forged}/leave")
            assert answer.status_code == 404, (method, forged[:5])
    # Another partner's slug with this partner's link: nothing there.
    assert client.get(f"/w/other-team/manage/{token}/cancel").status_code == 404
    assert client.post(f"/w/other-team/manage/{token}/cancel").status_code == 404
    assert client.post(f"/w/kc-chiefs/manage/{token}/cancel").status_code == 403  # no form token
    question = client.get(f"/w/kc-chiefs/manage/{token}/cancel")
    assert question.headers["Referrer-Policy"] == "no-referrer"
    assert question.headers["Cache-Control"] == "no-store"
