"""Ready to leave a stop: one message to the stop's riders not boarded, and the bus leaving
(the last stop departs the trip: trip.departed, once)."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.tripday.helpers import emails_of_kind
from widget_server.extensions import db
from widget_server.models import AuditLogEntry, StopDeparture, Trip, WebhookMessage


def now_iso(delta=timedelta(0)):
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def call(client, trip_day, stop, **body):
    return client.post(f"{trip_day['url']}/stops/{stop}/call", json={"device": "Phone A", **body})


def leave(client, trip_day, stop, *, id=None, at=None, device="Phone A"):
    body = {"id": id or str(uuid.uuid4()), "at": at or now_iso(), "device": device}
    return client.post(f"{trip_day['url']}/stops/{stop}/departure", json=body)


def board(client, trip_day, pledge_id):
    body = {"id": str(uuid.uuid4()), "at": now_iso(), "device": "Phone A", "pledge_id": pledge_id}
    assert client.post(f"{trip_day['url']}/checkins", json=body).json["result"] == "ok"


def test_the_message_goes_once_to_the_riders_not_boarded_in_their_language(app, client, trip_day):
    first_stop = trip_day["stops"][0]  # Ana and Cy board here, Bo at the second stop
    board(client, trip_day, trip_day["pledges"][0])
    manifest = client.get(f"{trip_day['url']}/manifest").json
    stop = manifest["stops"][0]
    assert stop["called_at"] is None and stop["departed_at"] is None
    assert stop["leaving_message"] == f"The bus leaves in 5 minutes from {stop['name']}."

    # The prefilled words sent back as they were (spacing aside): each rider's own language.
    sent = call(client, trip_day, first_stop, message=" The bus  leaves in 5 minutes from Stop 1.")
    assert sent.status_code == 200, sent.json
    assert sent.json["call_recipients"] == 1 and sent.json["called_at"]
    emails = emails_of_kind(app, "bus_leaving")
    assert [e.to_address for e in emails] == ["cy@example.com"]  # Ana has boarded
    assert emails[0].context == {"message": None, "minutes": 5}

    again = call(client, trip_day, first_stop)
    assert again.status_code == 409 and "already told" in again.json["detail"]
    assert len(emails_of_kind(app, "bus_leaving")) == 1
    assert client.get(f"{trip_day['url']}/manifest").json["stops"][0]["call_recipients"] == 1


def test_the_drivers_own_words_and_hostile_input(app, client, trip_day):
    second_stop = trip_day["stops"][1]
    for bad in ("\u0000stop", "x" * 501, "\ud800", 12, ["a"], {"a": "b"}):
        answer = call(client, trip_day, second_stop, message=bad)
        assert answer.status_code == 422 and "message" in answer.json["errors"], bad
    assert call(client, trip_day, "stp_nope", message="Hi").status_code == 404
    assert call(client, trip_day, "../../x").status_code == 404
    words = "Running late: the bus leaves at 7:10 from the north gate.\nSorry!"
    sent = call(client, trip_day, second_stop, message=words)
    assert sent.status_code == 200 and sent.json["call_recipients"] == 1
    (email,) = emails_of_kind(app, "bus_leaving")
    assert email.to_address == "bo@example.com" and email.context["message"] == words
    cross = client.post(
        f"{trip_day['url']}/stops/{second_stop}/call",
        json={"message": "x"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403


def test_the_message_is_rate_limited(app, client, trip_day):
    app.config["RATELIMIT_DRIVER_CALL"] = "1 per minute"
    assert call(client, trip_day, trip_day["stops"][0]).status_code == 200
    assert call(client, trip_day, trip_day["stops"][1]).status_code == 429


def test_leaving_each_stop_once_and_the_last_departs_the_trip_once(app, client, trip_day):
    hook = trip_day["api"].post(
        "/v1/webhook_endpoints",
        json={"url": "http://127.0.0.1:9/hook", "events": ["trip.departed"]},
    )
    assert hook.status_code == 201, hook.json
    first, last = trip_day["stops"]
    departure_id, offline_time = str(uuid.uuid4()), now_iso(-timedelta(minutes=2))
    left = leave(client, trip_day, first, id=departure_id, at=offline_time)
    assert left.status_code == 200, left.json
    assert left.json["departed_at"] == offline_time and left.json["trip_departed_at"] is None
    # The queued repeat, and a second phone: the stop left once, at the first time.
    assert leave(client, trip_day, first, id=departure_id).json == left.json
    assert leave(client, trip_day, first, device="Phone B").json["departed_by"] == "Phone A"
    # Once the bus has left a stop, its riders get no message.
    late = call(client, trip_day, first)
    assert late.status_code == 409 and "has left" in late.json["detail"]

    gone = leave(client, trip_day, last)
    assert gone.status_code == 200 and gone.json["trip_departed_at"] == gone.json["departed_at"]
    assert leave(client, trip_day, last, device="Phone B").status_code == 200
    with app.app_context():
        trip = db.session.get(Trip, trip_day["trip"])
        assert trip.departed_at is not None
        messages = db.session.scalars(
            select(WebhookMessage).where(WebhookMessage.type == "trip.departed")
        ).all()
        assert len(messages) == 1
        data = messages[0].payload["data"]
        assert data["id"] == trip.id and data["departed_at"] == gone.json["departed_at"]
        assert db.session.query(StopDeparture).count() == 2
        actions = db.session.scalars(select(AuditLogEntry.action)).all()
        assert actions.count("stop.departed") == 2 and actions.count("trip.departed") == 1
    manifest = client.get(f"{trip_day['url']}/manifest").json
    assert all(stop["departed_at"] for stop in manifest["stops"])


def test_departure_times_and_inputs_are_checked(app, client, trip_day):
    stop = trip_day["stops"][0]
    future = leave(client, trip_day, stop, at=now_iso(timedelta(hours=1)))
    assert future.status_code == 422 and "at" in future.json["errors"]
    for body in ({}, {"id": "nope", "at": now_iso()}, {"id": str(uuid.uuid4()), "at": "soon"}):
        answer = client.post(f"{trip_day['url']}/stops/{stop}/departure", json=body)
        assert answer.status_code == 422, body
    assert leave(client, trip_day, "stp_nope").status_code == 404
    with app.app_context():
        assert db.session.query(StopDeparture).filter_by(departed_at=None).count() <= 1


def test_a_trip_that_does_not_run_has_no_departures(app, client, trip_day):
    trip_day["api"].post(f"/v1/trips/{trip_day['trip']}/cancel")
    # The driver link of a canceled trip still opens (the manifest), but nothing leaves.
    answer = leave(client, trip_day, trip_day["stops"][0])
    assert answer.status_code in (404, 409)
    assert call(client, trip_day, trip_day["stops"][0]).status_code in (404, 409)
