"""Driver links and check-ins over HTTP: the answers, once per id, double boarding, manifests."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_trip
from tests.tripday.helpers import confirmed_trip, fan_request
from widget_server.domain import boarding
from widget_server.domain.pledges import recording
from widget_server.extensions import db
from widget_server.models import Boarding, CheckIn, Partner, Trip, WebhookMessage

SECRET = "test-secret-key"


def send(client, url, code=None, *, id=None, at=None, device="Phone A", **extra):
    body = {"id": id or str(uuid.uuid4()), "at": at or now_iso(), "device": device, **extra}
    if code is not None:
        body["code"] = code
    return client.post(f"{url}/checkins", json=body)


def now_iso(delta=timedelta(0)):
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_driver_link_shape_and_a_new_link_ends_the_old(app, client, trip_day):
    api = trip_day["api"]
    page = client.get(trip_day["url"])
    assert page.status_code == 200 and "Ana Paid" in page.get_data(as_text=True)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    second = api.post(f"/v1/trips/{trip_day['trip']}/driver_link").json
    assert set(second) >= {"url", "expires_at"} and second["url"].startswith("http://127.0.0.1")
    assert datetime.fromisoformat(second["expires_at"]) > datetime.now(UTC)
    old = client.get(trip_day["url"], headers={"Accept": "text/html"})
    assert old.status_code == 404 and "has ended" in old.get_data(as_text=True)
    assert send(client, trip_day["url"], trip_day["codes"][0]).status_code == 404
    new_url = second["url"].removeprefix("http://127.0.0.1:8000")
    answer = send(client, new_url, trip_day["codes"][0])
    assert answer.json.get("result") == "ok", answer.json
    assert api.delete(f"/v1/trips/{trip_day['trip']}/driver_link").status_code == 204
    assert client.get(new_url).status_code == 404
    assert client.get("/d/forged-token").status_code == 404
    # Scope and tenancy: another partner's trip is a 404.
    other = confirmed_trip(app, "other-team", names=("Zed Paid",))
    assert api.post(f"/v1/trips/{other['trip']}/driver_link").status_code == 404
    read_only = ApiSession(client, issue_token(app, trip_day["partner_id"], "trips:read"))
    assert read_only.post(f"/v1/trips/{trip_day['trip']}/driver_link").status_code == 403


def test_every_answer(app, client, trip_day):
    url, codes = trip_day["url"], trip_day["codes"]
    ok = send(client, url, codes[0].lower().replace("-", " "))
    assert ok.status_code == 200
    assert ok.json["result"] == "ok" and ok.json["pledge"]["name"] == "Ana Paid"
    again = send(client, url, codes[0], device="Phone A")
    assert again.json["result"] == "already_boarded"
    assert again.json["boarded"]["device"] == "Phone A" and again.json["double_boarded"] is False
    assert send(client, url, "7K2M-9QX4-H3RT").json["result"] == "unknown"
    assert send(client, url, "not a code").json["result"] == "unknown"
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, trip_day["trip"])
        partner = session.get(Partner, trip.partner_id)
        unpaid = recording.create_pledge(
            session, provider, partner, trip.id, fan_request(trip, "Dee Unpaid")
        )
        unpaid_code = boarding.boarding_code(SECRET, unpaid)
        unpaid_id = unpaid.id
        elsewhere = make_trip(session, partner, capacity=5, min_riders=5)
        other = recording.create_pledge(
            session, provider, partner, elsewhere.id, fan_request(elsewhere, "Eve Other")
        )
        other_code = boarding.boarding_code(SECRET, other)
    # Dee is "charging" until the job runs: not paid, never checked in, by code or by name.
    assert send(client, url, unpaid_code).json["result"] == "not_paid"
    assert send(client, url, pledge_id=unpaid_id).json["result"] == "not_paid"
    assert send(client, url, other_code).json["result"] == "other_trip"
    run_jobs(app)
    # Cy's pledge is refunded by the partner: canceled.
    trip_day["api"].post(f"/v1/pledges/{trip_day['pledges'][2]}/cancel")
    run_jobs(app)
    assert send(client, url, codes[2]).json["result"] == "canceled"
    # Tapping a name (pledge id) boards too; another partner's pledge id is unknown.
    assert send(client, url, pledge_id=trip_day["pledges"][1]).json["result"] == "ok"
    assert send(client, url, pledge_id="plg_nope").json["result"] == "unknown"
    with app.app_context():
        assert db.session.query(Boarding).count() == 2


def test_same_id_twice_replays_the_first_answer_and_keeps_the_device_time(app, client, trip_day):
    url, code = trip_day["url"], trip_day["codes"][0]
    checkin_id = str(uuid.uuid4())
    offline_time = now_iso(-timedelta(minutes=3))  # within CLOCK_SKEW of the link issue
    first = send(client, url, code, id=checkin_id, at=offline_time).json
    replay = send(client, url, code, id=checkin_id, at=now_iso()).json
    assert first["result"] == "ok" and replay == first
    with app.app_context():
        assert db.session.query(CheckIn).count() == 1
        row = db.session.get(Boarding, trip_day["pledges"][0])
        assert row.boarded_at.strftime("%Y-%m-%dT%H:%M:%SZ") == offline_time


def test_two_devices_boarding_the_same_fan_is_flagged_not_failed(app, client, trip_day):
    url, code = trip_day["url"], trip_day["codes"][1]
    hook = trip_day["api"].post(
        "/v1/webhook_endpoints",
        json={"url": "http://127.0.0.1:9/hook", "events": ["pledge.boarded"]},
    )
    assert hook.status_code == 201, hook.json
    a = send(client, url, code, device="Phone A", at=now_iso(-timedelta(minutes=5))).json
    b = send(client, url, code, device="Phone B", at=now_iso(-timedelta(minutes=4))).json
    assert a["result"] == "ok"
    assert b["result"] == "already_boarded" and b["double_boarded"] is True
    assert b["boarded"]["device"] == "Phone A"
    manifest = trip_day["api"].get(f"/v1/trips/{trip_day['trip']}/manifest").json
    riders = {r["name"]: r for s in manifest["stops"] for r in s["riders"]}
    assert riders["Bo Paid"]["double_boarded"] is True
    assert riders["Bo Paid"]["boarded_by"] == "Phone A"
    assert riders["Ana Paid"]["boarded_at"] is None
    assert manifest["boarded_seats"] == 1
    assert [s["boarded_seats"] for s in manifest["stops"]] == [0, 1]
    csv_text = (
        trip_day["api"]
        .get(f"/v1/trips/{trip_day['trip']}/manifest", headers={"Accept": "text/csv"})
        .get_data(as_text=True)
    )
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(csv_text))}
    assert rows["Bo Paid"]["double_boarded"] == "yes" and rows["Bo Paid"]["boarded_by"]
    assert rows["Ana Paid"]["boarding_code"] == trip_day["codes"][0]
    with app.app_context():
        messages = db.session.query(WebhookMessage).filter_by(type="pledge.boarded").all()
        assert len(messages) == 1  # one boarding, one webhook
        assert messages[0].payload["data"]["id"] == trip_day["pledges"][1]
        assert messages[0].payload["data"]["boarded_by"] == "Phone A"


def test_bad_check_ins_are_422_naming_the_field(client, trip_day):
    url = trip_day["url"]
    missing = client.post(f"{url}/checkins", json={"code": trip_day["codes"][0]})
    assert missing.status_code == 422 and missing.mimetype == "application/problem+json"
    assert {"id", "at"} <= set(missing.json["errors"])
    assert send(client, url, id="not-a-uuid").status_code == 422
    future = send(client, url, trip_day["codes"][0], at=now_iso(timedelta(days=2)))
    assert future.status_code == 422 and "at" in future.json["errors"]
    nothing = send(client, url)
    assert nothing.status_code == 422 and "code" in nothing.json["errors"]
    assert client.post(f"{url}/checkins", data="x").status_code == 422
    cross = client.post(
        f"{url}/checkins",
        json={"code": "x", "id": str(uuid.uuid4()), "at": now_iso()},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403


def test_driver_manifest_json_has_codes_but_no_emails(client, trip_day):
    manifest = client.get(f"{trip_day['url']}/manifest").json
    riders = [r for s in manifest["stops"] for r in s["riders"]]
    assert {r["boarding_code"] for r in riders} == set(trip_day["codes"])
    assert all("email" not in r for r in riders)


def test_racing_devices_board_once(app, live_server, trip_day):
    """Eight phones scan the same fan at once, and one check-in is sent four times at once:
    exactly one boarding, one row per check-in id, every repeat gets the first answer."""
    import threading

    import requests

    url = live_server.url + trip_day["url"]
    code = trip_day["codes"][0]
    repeated = str(uuid.uuid4())
    bodies = [
        {"code": code, "id": str(uuid.uuid4()), "at": now_iso(), "device": f"Phone {i}"}
        for i in range(8)
    ] + [{"code": code, "id": repeated, "at": now_iso(), "device": "Phone R"}] * 4
    answers = []
    barrier = threading.Barrier(len(bodies))

    def post(body):
        barrier.wait(timeout=10)
        answers.append(requests.post(f"{url}/checkins", json=body, timeout=30).json())

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 12
    first_answers = {a["id"]: a["result"] for a in answers}  # one per check-in id
    assert len(first_answers) == 9 and list(first_answers.values()).count("ok") == 1
    assert len({str(a) for a in answers if a["id"] == repeated}) == 1
    with app.app_context():
        assert db.session.query(Boarding).count() == 1
        assert db.session.query(CheckIn).count() == 9
        assert db.session.get(Boarding, trip_day["pledges"][0]).double_boarded is True
