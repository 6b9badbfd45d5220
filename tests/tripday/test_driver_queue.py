"""Driver check-ins that a phone queued: the time window, device ids, links replaced while the
phone was offline, undoing a boarding, and boarding codes found by their indexed lookup part."""

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from tests.tripday.test_checkins import SECRET, now_iso, send
from widget_server.domain import boarding, checkin
from widget_server.extensions import db
from widget_server.keys import derive_key
from widget_server.models import (
    AuditLogEntry,
    Boarding,
    CheckIn,
    Partner,
    Pledge,
    Trip,
    WebhookMessage,
)
from widget_server.models.types import utcnow


def test_a_1970_check_in_is_refused_naming_at_and_changes_nothing(app, client, trip_day):
    url, code = trip_day["url"], trip_day["codes"][0]
    trip_day["api"].post(
        "/v1/webhook_endpoints",
        json={"url": "http://127.0.0.1:9/hook", "events": ["pledge.boarded"]},
    )
    old = send(client, url, code, at="1970-01-01T00:00:00Z")
    assert old.status_code == 422 and "at" in old.json["errors"], old.json
    assert "before the driver link was issued" in old.json["errors"]["at"][0]
    # A fast clock: a few minutes is tolerated (CLOCK_SKEW), ten is not.
    fast = send(client, url, code, at=now_iso(timedelta(minutes=10)))
    assert fast.status_code == 422 and "at" in fast.json["errors"]
    with app.app_context():
        assert db.session.query(CheckIn).count() == 0
        assert db.session.query(Boarding).count() == 0
        assert db.session.query(WebhookMessage).filter_by(type="pledge.boarded").count() == 0
        assert db.session.query(AuditLogEntry).filter_by(action="pledge.boarded").count() == 0
    assert send(client, url, code, at=now_iso(timedelta(minutes=2))).json["result"] == "ok"


def test_double_boarding_is_told_by_the_device_id_not_its_name(app, client, trip_day):
    url, codes = trip_day["url"], trip_day["codes"]
    phone_a, phone_b = str(uuid.uuid4()), str(uuid.uuid4())
    # Two phones that both kept the default name: still two devices.
    first = send(client, url, codes[0], device="device", device_id=phone_a).json
    second = send(client, url, codes[0], device="device", device_id=phone_b).json
    assert first["result"] == "ok"
    assert second["result"] == "already_boarded" and second["double_boarded"] is True
    # One phone renamed between two scans: the same device, no flag.
    send(client, url, codes[1], device="Bus 1 front", device_id=phone_a)
    again = send(client, url, codes[1], device="Bus 1", device_id=phone_a).json
    assert again["result"] == "already_boarded" and again["double_boarded"] is False
    with app.app_context():
        assert db.session.get(Boarding, trip_day["pledges"][0]).device_id == phone_a
        assert db.session.get(Boarding, trip_day["pledges"][1]).double_boarded is False
    assert send(client, url, codes[2], device_id="not-a-uuid").status_code == 422


def test_a_check_in_queued_under_a_replaced_link_is_accepted_by_the_new_one(app, client, trip_day):
    """The phone checked Ana in an hour ago, offline, under the link of then; the organiser
    re-issued the link since. The new link's page sends it with the old token."""
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, trip_day["trip"])
        old_link = checkin.new_driver_link(
            session, trip, actor="test", now=utcnow() - timedelta(hours=2)
        )
    old_token = checkin.driver_token(SECRET, old_link)
    new = trip_day["api"].post(f"/v1/trips/{trip_day['trip']}/driver_link").json
    new_url = new["url"].removeprefix("http://127.0.0.1:8000")
    queued_at = now_iso(-timedelta(hours=1))
    code = trip_day["codes"][0]
    assert send(client, f"/d/{old_token}", code, at=queued_at).status_code == 404  # replaced
    # Without saying which link it was made under, an hour ago predates the new link.
    plain = send(client, new_url, code, at=queued_at)
    assert plain.status_code == 422 and "at" in plain.json["errors"]
    answer = send(client, new_url, code, at=queued_at, made_under=old_token)
    assert answer.status_code == 200 and answer.json["result"] == "ok", answer.json
    with app.app_context():
        boarded = db.session.get(Boarding, trip_day["pledges"][0]).boarded_at
        assert boarded.strftime("%Y-%m-%dT%H:%M:%SZ") == queued_at
    # Not a link of this trip, or not one we signed: 422 naming made_under.
    foreign = checkin.driver_token(
        SECRET, checkin.DriverLink("trp_other", 1, old_link.expires_at, old_link.issued_at)
    )
    for token in (foreign, "forged-token"):
        refused = send(client, new_url, trip_day["codes"][1], at=queued_at, made_under=token)
        assert refused.status_code == 422 and "made_under" in refused.json["errors"]


def test_a_boarding_can_be_undone_and_the_rider_boards_again(app, client, trip_day):
    url, code, pledge_id = trip_day["url"], trip_day["codes"][0], trip_day["pledges"][0]
    assert send(client, url, code).json["result"] == "ok"
    phone = str(uuid.uuid4())
    undone = client.post(
        f"{url}/undo", json={"pledge_id": pledge_id, "device": "Phone B", "device_id": phone}
    )
    assert undone.status_code == 200, undone.json
    assert undone.json["pledge"]["id"] == pledge_id and undone.json["undone"]["device"] == "Phone B"
    riders = {
        r["pledge_id"]: r for s in client.get(f"{url}/manifest").json["stops"] for r in s["riders"]
    }
    assert riders[pledge_id]["boarded_at"] is None
    with app.app_context():
        entry = db.session.scalar(
            select(AuditLogEntry).where(AuditLogEntry.action == "pledge.boarding_undone")
        )
        assert entry.actor == "driver:Phone B" and entry.object_id == pledge_id
        assert entry.data["boarded_by"] == "Phone A" and entry.data["device_id"] == phone
        assert entry.data["undone_at"] and entry.created_at
    again = client.post(f"{url}/undo", json={"pledge_id": pledge_id, "device": "Phone B"})
    assert again.status_code == 409
    assert client.post(f"{url}/undo", json={"pledge_id": "plg_nope"}).status_code == 404
    assert client.post(f"{url}/undo", json={}).status_code == 422
    assert send(client, url, code).json["result"] == "ok"  # boards again
    cross = client.post(
        f"{url}/undo", json={"pledge_id": pledge_id}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403


def test_codes_use_the_derived_key_and_an_indexed_lookup(app, client, trip_day):
    url = trip_day["url"]
    with app.app_context():
        pledge = db.session.get(Pledge, trip_day["pledges"][0])
        code = trip_day["codes"][0]
        raw = code.replace("-", "")
        assert pledge.boarding_ref == raw[:7]
        # The MAC is made with the purpose's own key, not SECRET_KEY itself.
        key = derive_key(SECRET, "boarding-codes")
        assert raw[7:] == boarding._mac(key, pledge.trip_id, pledge.id)
        assert raw[7:] != boarding._mac(SECRET.encode(), pledge.trip_id, pledge.id)
        raw_key_code = raw[:7] + boarding._mac(SECRET.encode(), pledge.trip_id, pledge.id)
        trip = db.session.get(Trip, trip_day["trip"])
        statements = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert boarding.find_pledge(db.session, SECRET, trip, code).pledge.id == pledge.id
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert not any(" LIKE " in s.upper() for s, _ in statements), statements
        lookup, parameters = next((s, p) for s, p in statements if "boarding_ref =" in s)
        if engine.dialect.name == "sqlite":
            connection = db.session.connection()
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + lookup, parameters).all()
            assert any("ix_pledges_partner_boarding_ref" in str(row) for row in plan), plan
    # A code signed with SECRET_KEY itself is not a code of a pledge paid since the change.
    assert send(client, url, raw_key_code).json["result"] == "unknown"
    # A pledge paid before (legacy) keeps the code its fan was sent, and only that one.
    with app.app_context(), db.transaction() as session:
        session.get(Pledge, trip_day["pledges"][0]).boarding_code_legacy = True
    with app.app_context():
        shown = boarding.boarding_code(SECRET, db.session.get(Pledge, trip_day["pledges"][0]))
    assert shown.replace("-", "") == raw_key_code
    assert send(client, url, code).json["result"] == "unknown"
    assert send(client, url, raw_key_code).json["result"] == "ok"
    # The lookup part is what finds the pledge: a pledge without it is not found by code.
    with app.app_context(), db.transaction() as session:
        session.get(Pledge, trip_day["pledges"][1]).boarding_ref = None
    assert send(client, url, trip_day["codes"][1]).json["result"] == "unknown"


def test_the_migration_fills_lookups_and_keeps_codes_already_sent(app, client, trip_day):
    """Migration 0006_h4 on pledges from before it: each gets its lookup part, and the paid
    ones keep the code their fans were sent (signed with SECRET_KEY itself)."""
    import importlib.util
    from pathlib import Path

    import widget_server

    path = Path(widget_server.__file__).parent / "migrations/versions/0006_h4_driver_checkins.py"
    spec = importlib.util.spec_from_file_location("migration_0006_h4", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with app.app_context():
        pledges = [db.session.get(Pledge, p) for p in trip_day["pledges"]]
        sent = [
            boarding.boarding_lookup(p.trip_id, p.id)
            + boarding._mac(SECRET.encode(), p.trip_id, p.id)
            for p in pledges
        ]
    with app.app_context(), db.transaction() as session:
        session.execute(
            Pledge.__table__.update().values(boarding_ref=None, boarding_code_legacy=False)
        )
    assert send(client, trip_day["url"], sent[0]).json["result"] == "unknown"
    with app.app_context(), db.transaction() as session:
        migration.fill_boarding_refs(session.connection())
    with app.app_context():
        for pledge_id, code in zip(trip_day["pledges"], sent, strict=True):
            pledge = db.session.get(Pledge, pledge_id)
            assert pledge.boarding_ref == code[:7] and pledge.boarding_code_legacy is True
            assert boarding.boarding_code(SECRET, pledge).replace("-", "") == code
    assert send(client, trip_day["url"], sent[0]).json["result"] == "ok"


def test_the_driver_page_in_french_shows_times_and_code_ends_in_its_format(app, client):
    """A French partner's driver page: dates and times in the event's zone, in French formats
    (the same `driver.js` produces), and the code end that tells riders apart, in French."""
    from tests.api_helpers import ApiSession, issue_token
    from tests.tripday.helpers import confirmed_trip

    ids = confirmed_trip(app, "lyon", names=("Ana Paid",))
    with app.app_context(), db.transaction() as session:
        session.get(Partner, ids["partner_id"]).locale = "fr"
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    url = api.post(f"/v1/trips/{ids['trip']}/driver_link").json["url"]
    url = url.removeprefix("http://127.0.0.1:8000")
    send(client, url, pledge_id=ids["pledges"][0], at=now_iso())
    html = client.get(url).get_data(as_text=True)
    with app.app_context():
        trip = db.session.get(Trip, ids["trip"])
        departs = trip.stops[0].departs_at.astimezone(ZoneInfo(trip.event.timezone))
        boarded = db.session.get(Boarding, ids["pledges"][0]).boarded_at
        code = boarding.boarding_code(SECRET, db.session.get(Pledge, ids["pledges"][0]))
    boarded = boarded.astimezone(ZoneInfo(trip.event.timezone))
    assert departs.strftime("%d/%m/%Y %H:%M") in html  # CLDR fr short: 20/12/2026 13:05
    assert f"{boarded:%H:%M}</span>" in html  # the boarded badge
    assert f"code …{code[-4:]}" in html
    manifest = client.get(f"{url}/manifest").json
    assert manifest["stops"][0]["departs_label"] == departs.strftime("%d/%m/%Y %H:%M")


def test_two_phones_undoing_one_boarding_undo_it_once(app, client, trip_day):
    """The second of two racing undos (it read the boarding before the first one's commit)
    is a 409 "not boarded", with one audit entry: not a second `boarding_undone`, nor a DELETE
    matching no row (a warning, a 500 where warnings are errors)."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from widget_server.domain import checkin
    from widget_server.domain.errors import Conflict
    from widget_server.models import Boarding, Trip

    url, code, pledge_id = trip_day["url"], trip_day["codes"][0], trip_day["pledges"][0]
    assert send(client, url, code).json["result"] == "ok"
    with app.app_context():
        late = Session(bind=db.engine)
        try:
            stale = late.get(Boarding, pledge_id)  # read before the first undo's commit
            assert stale is not None
            first = client.post(f"{url}/undo", json={"pledge_id": pledge_id, "device": "A"})
            assert first.status_code == 200
            with pytest.raises(Conflict) as refused:
                checkin.undo_boarding(late, late.get(Trip, trip_day["trip"]), pledge_id, device="B")
                late.commit()
            assert "not boarded" in str(refused.value)
        finally:
            late.rollback()
            late.close()
        undone = db.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "pledge.boarding_undone")
        ).all()
        assert len(undone) == 1
        assert db.session.execute(delete(Boarding)).rowcount == 0
