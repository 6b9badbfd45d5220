"""Fan data requests: export and erasure through the API and the CLI, retention, housekeeping;
financial records stay, the person goes, other partners are never touched."""

import json
from datetime import timedelta

from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_event, make_partner, make_trip
from widget_server.cli import cli
from widget_server.domain.housekeeping import purge_expired
from widget_server.domain.privacy import ERASED_EMAIL, erase_expired_fan_data
from widget_server.extensions import db
from widget_server.models import (
    DemandSignal,
    IdempotencyRecord,
    OutboundEmail,
    Pledge,
    WebhookAttempt,
)
from widget_server.models.types import utcnow

FAN = "Maria.Lopez@Fans.example"


def _setup(app, client):
    with app.app_context(), db.transaction() as session:
        home = make_partner(session, "home-fc")
        away = make_partner(session, "away-fc")
        trips = {p.slug: make_trip(session, p, capacity=10, min_riders=5) for p in (home, away)}
        ids = {slug: (t.id, t.stops[0].id, t.event_id) for slug, t in trips.items()}
        home_id = home.id
    for slug, (trip_id, stop_id, event_id) in ids.items():
        body = {"stop_id": stop_id, "seats": 2, "name": "Maria Lopez", "email": FAN}
        response = client.post(
            f"/w/{slug}/api/trips/{trip_id}/pledges",
            json={**body, "payment_method": "pm_card_visa", "phone": "+1 312 555 0100"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        demand = client.post(
            f"/w/{slug}/api/demand",
            json={"event_id": event_id, "origin": "Peoria", "email": FAN.lower()},
        )
        assert demand.status_code == 201
    run_jobs(app)  # the pledge_received emails go out
    return home_id, ids


def test_export_then_erase_through_the_api(app, client):
    home_id, ids = _setup(app, client)
    api = ApiSession(client, issue_token(app, home_id))
    exported = api.get("/v1/fans/export", query_string={"email": "maria.lopez@fans.example"})
    assert exported.status_code == 200
    body = exported.json
    assert [p["trip_id"] for p in body["pledges"]] == [ids["home-fc"][0]]  # only this partner
    assert body["pledges"][0]["name"] == "Maria Lopez" and body["pledges"][0]["history"]
    assert len(body["demand_requests"]) == 1 and body["emails"][0]["kind"] == "pledge_received"

    erased = api.post("/v1/fans/erase", json={"email": FAN})
    assert erased.status_code == 200
    assert erased.json == {
        "object": "fan_erasure",
        "pledges": 1,
        "demand_requests": 1,
        "waitlist_entries": 0,
        "stop_requests": 0,
        "emails": 1,
    }
    with app.app_context():
        pledges = {p.partner_id: p for p in db.session.scalars(select(Pledge))}
        mine = pledges[home_id]
        assert (mine.name, mine.email, mine.phone) == ("[erased]", ERASED_EMAIL, None)
        assert mine.erased_at is not None
        # The financial record stays.
        assert (mine.seats, mine.amount, mine.status) == (2, 7000, "pledged")
        assert mine.payment_customer_ref
        other = next(p for pid, p in pledges.items() if pid != home_id)
        assert other.email.lower() == FAN.lower()  # the other partner's fan is untouched
        assert {s.email for s in db.session.scalars(select(DemandSignal))} == {
            ERASED_EMAIL,
            FAN.lower(),
        }
    again = api.get("/v1/fans/export", query_string={"email": FAN})
    assert again.json["pledges"] == [] and again.json["emails"] == []


def test_fan_requests_need_their_scopes_and_a_valid_email(app, client):
    home_id, _ = _setup(app, client)
    reader = ApiSession(client, issue_token(app, home_id, "pledges:read"))
    assert reader.post("/v1/fans/erase", json={"email": FAN}).status_code == 403
    bad = reader.get("/v1/fans/export", query_string={"email": "not-an-email"})
    assert bad.status_code == 422 and "email" in bad.json["errors"]
    assert client.get("/v1/fans/export", query_string={"email": FAN}).status_code == 401


def test_export_and_erase_from_the_cli(app, client):
    _setup(app, client)
    runner = app.test_cli_runner()
    exported = runner.invoke(cli, ["fans", "export", "--partner", "home-fc", "--email", FAN])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["pledges"][0]["email"].lower() == FAN.lower()
    erased = runner.invoke(cli, ["fans", "erase", "--partner", "home-fc", "--email", FAN])
    assert erased.exit_code == 0 and json.loads(erased.output)["pledges"] == 1
    bad = runner.invoke(cli, ["fans", "erase", "--partner", "home-fc", "--email", "nope"])
    assert bad.exit_code == 1


def test_retention_erases_fans_of_events_long_past(app, session):
    partner = make_partner(session, "old-fc")
    event = make_event(session, partner)
    trip = make_trip(session, partner, event=event, capacity=10, min_riders=5)
    session.flush()
    from widget_server.models import Trip

    pledge = Pledge(
        partner_id=partner.id,
        trip_id=trip.id,
        stop_id=trip.stops[0].id,
        seats=1,
        unit_amount=100,
        amount=100,
        currency="USD",
        name="Old Fan",
        email="old@fans.example",
        status="paid",
    )
    session.add(pledge)
    session.commit()
    later = event.starts_at + timedelta(days=31)
    assert erase_expired_fan_data(session, event.starts_at + timedelta(days=29), 30) == 0
    assert erase_expired_fan_data(session, later, 30) == 1
    session.commit()
    stored = session.get(Pledge, pledge.id)
    assert stored.email == ERASED_EMAIL and stored.status == "paid" and stored.amount == 100
    assert erase_expired_fan_data(session, later, 30) == 0  # once
    assert session.get(Trip, trip.id).seats_pledged == 0  # seats are not touched by erasure


def test_housekeeping_deletes_only_what_expired(app, session):
    now = utcnow()
    session.add_all(
        [
            IdempotencyRecord(
                client_id="c", key="old", method="POST", path="/v1/x", request_hash="h",
                created_at=now - timedelta(hours=30),
            ),
            IdempotencyRecord(
                client_id="c", key="new", method="POST", path="/v1/x", request_hash="h",
                created_at=now - timedelta(hours=1),
            ),
        ]
    )  # fmt: skip
    session.commit()
    counts = purge_expired(session, now)
    session.commit()
    assert counts["idempotency_records"] == 1
    assert [r.key for r in session.scalars(select(IdempotencyRecord))] == ["new"]
    assert counts["webhook_attempts"] == 0 and counts["sent_emails"] == 0
    assert session.scalars(select(WebhookAttempt)).all() == []
    assert isinstance(session.scalars(select(OutboundEmail)).all(), list)
