"""The waitlist keeps the rules of an ordinary pledge: a claim re-checks under the trip's row
lock that the trip still sells, offers end no later than pledges close, and joining applies
the partner's per-fan seat cap."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import emails_of_kind, fan_request
from tests.tripday.test_waitlist import entries, full_trip, join, trip_seats  # noqa: F401
from tests.widget_helpers import form_fields
from widget_server.domain import catalog
from widget_server.domain.errors import Conflict
from widget_server.domain.pledges import fan_changes, planning, recording, trip_outcomes
from widget_server.extensions import db
from widget_server.models import Partner, Pledge, Trip
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.models.types import utcnow


class CancelsWhileSaving:
    """The app's provider, except that the partner cancels the trip while the fan's card is
    being saved (in a transaction of its own, as another request would)."""

    def __init__(self, app, inner, trip_id):
        self.app, self.inner, self.trip_id = app, inner, trip_id
        self.name = inner.name

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def save_card(self, **kwargs):
        with Session(bind=self.app.extensions["ridepledge.engine"]) as session:
            trip = session.get(Trip, self.trip_id)
            trip_outcomes.cancel_trip(session, trip, actor="partner")
            session.commit()
        return self.inner.save_card(**kwargs)


def _offer_to(app, client, ids, name):
    """`name` joins the line and is offered the seat a canceled pledge frees."""
    assert join(client, ids, name).status_code == 201
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    assert api.post(f"/v1/pledges/{ids['paid'][0]}/cancel").status_code == 200
    run_jobs(app)
    (entry,) = entries(app, ids["trip"])
    assert entry.status == "offered"
    return entry


def test_a_claim_racing_a_cancel_leaves_no_live_pledge(app, client, full_trip):  # noqa: F811
    ids = full_trip
    entry = _offer_to(app, client, ids, "Wanda")
    with app.app_context():
        from widget_server.fan.links import waitlist_url

        path = waitlist_url("kc-chiefs", entry.id).removeprefix("http://127.0.0.1:8000")
    action, hidden = form_fields(client.get(path).get_data(as_text=True), "/claim")
    inner = app.extensions["ridepledge.payments"]
    app.extensions["ridepledge.payments"] = CancelsWhileSaving(app, inner, ids["trip"])
    try:
        claimed = client.post(action, data={**hidden, "card_number": "4242 4242 4242 4242"})
    finally:
        app.extensions["ridepledge.payments"] = inner
    assert claimed.status_code == 409
    run_jobs(app)
    with app.app_context():
        trip = db.session.get(Trip, ids["trip"])
        assert trip.status == "canceled"
        live = db.session.scalars(
            select(Pledge).where(Pledge.trip_id == trip.id, Pledge.status.in_(LIVE_STATUSES))
        ).all()
        # The seven paid fans are being refunded; nobody is left pledged on the canceled trip.
        assert {p.status for p in live} <= {"paid"}
        assert all(p.refund_requested_at is not None for p in live)
        assert not [p for p in live if p.name == "Wanda"]
        assert trip.seats_held == 0
    assert not [e for e in emails_of_kind(app, "pledge_received") if "wanda" in e.to_address]
    assert [e.status for e in entries(app, ids["trip"])] == ["closed"]


def test_canceling_a_trip_ends_its_offers_at_once(app, client, full_trip):  # noqa: F811
    ids = full_trip
    _offer_to(app, client, ids, "Wanda")
    with app.app_context(), db.transaction() as session:
        trip_outcomes.cancel_trip(session, session.get(Trip, ids["trip"]), actor="partner")
    assert [e.status for e in entries(app, ids["trip"])] == ["closed"]
    assert trip_seats(app, ids["trip"])[1] == 0


def test_moving_the_deadline_earlier_shortens_offers(app, client):
    """An open trip: two fans hold three of its four seats, a party of two waits; a withdrawal
    frees a seat, the offer is made, then the partner moves the deadline to an hour from now."""
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs", waitlist_hold_hours=6)
        trip = make_trip(session, partner, capacity=4, min_riders=4)
        ids = {"partner_id": partner.id, "trip": trip.id, "stop": trip.stops[0].id}
        first = recording.create_pledge(
            session, provider, partner, trip.id, fan_request(trip, "Ana Fan", seats=2)
        )
        second = recording.create_pledge(
            session, provider, partner, trip.id, fan_request(trip, "Bo Fan")
        )
        ids["second"] = second.id
        assert first.status == second.status == "pledged"
    assert join(client, ids, "Party", seats=2).status_code == 201
    with app.app_context(), db.transaction() as session:
        fan_changes.withdraw_pledge(session, session.get(Pledge, ids["second"]))
    run_jobs(app)
    (offer,) = entries(app, ids["trip"])
    assert offer.status == "offered"
    assert offer.offer_expires_at - utcnow() > timedelta(hours=5)
    new_deadline = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    with app.app_context(), db.transaction() as session:
        catalog.update_trip(
            session,
            session.get(Trip, ids["trip"]),
            {"pledge_deadline": new_deadline},
            actor="partner",
        )
    (offer,) = entries(app, ids["trip"])
    assert offer.status == "offered" and offer.offer_expires_at <= new_deadline


def test_joining_the_waitlist_applies_the_per_fan_seat_cap(app, client):
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs", max_seats_per_fan=2)
        trip = make_trip(session, partner, capacity=4, min_riders=4)
        ids = {"partner_id": partner.id, "trip": trip.id, "stop": trip.stops[0].id}
        for name in ("Ana Fan", "Bo Fan"):
            recording.create_pledge(
                session, provider, partner, trip.id, fan_request(trip, name, seats=2)
            )
    run_jobs(app)
    # Sold out. Ana holds two seats already: none more, not even on the waitlist.
    holder = join(client, ids, "Ana")
    assert holder.status_code == 409 and holder.json["type"].endswith("/seat-limit")
    assert "seats" in holder.json["errors"]
    stranger = join(client, ids, "Cy", seats=3)
    assert stranger.status_code == 409 and stranger.json["type"].endswith("/seat-limit")
    assert join(client, ids, "Dee", seats=2).status_code == 201
    assert [(e.name, e.seats) for e in entries(app, ids["trip"])] == [("Dee", 2)]


def test_a_claim_rechecks_the_trip_status_under_its_row_lock(app, client, full_trip):  # noqa: F811
    """Whatever ended the sale between the plan and the seats (here a status changed without
    ending the offer), the claim re-reads the status from the row it locks and is refused."""
    ids = full_trip
    entry = _offer_to(app, client, ids, "Wanda")
    provider = app.extensions["ridepledge.payments"]
    with app.app_context():
        with db.transaction() as session:
            partner = session.get(Partner, ids["partner_id"])
            request = fan_request(session.get(Trip, ids["trip"]), "Wanda Fan")
            plan = planning.plan_pledge(
                session, partner, ids["trip"], request, waitlist_offer=entry.id
            )
        card = planning.save_card(provider, plan.card)
        with db.transaction() as session:
            session.execute(update(Trip).where(Trip.id == ids["trip"]).values(status="failed"))
        with pytest.raises(Conflict), db.transaction() as session:
            recording.record_pledge(session, plan, card)
        assert db.session.get(Pledge, plan.pledge_id) is None
    assert [e.status for e in entries(app, ids["trip"])] == ["offered"]  # rolled back
