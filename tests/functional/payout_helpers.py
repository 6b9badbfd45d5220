"""Shared by the payout tests: an operator, a trip awarded to it on its quote, and the trip's
outcome (completed, failed, canceled), built straight in the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.factories import make_event, make_partner, make_trip
from widget_server.domain.pledges import trip_outcomes
from widget_server.models import Operator, Payout, Quote, Trip, TripRequest
from widget_server.models.types import utcnow

QUOTE_AMOUNT = 185000


def make_operator(session: Session, slug: str = "prairie-coach", **fields) -> Operator:
    """The factories' operator with a contact address and, unless told otherwise, a
    (simulated) connected Stripe account."""
    values = {
        "contact_email": f"dispatch@{slug}.example",
        "stripe_account_id": f"acct_sim{slug.replace('-', '')}",
        **fields,
    }
    return factories.make_operator(session, slug, **values)


def make_awarded_trip(
    session: Session,
    operator: Operator,
    partner=None,
    *,
    amount: int = QUOTE_AMOUNT,
    title: str = "Chiefs vs Broncos",
) -> Trip:
    """An open trip of `partner`, awarded to `operator` on a quote of `amount` USD."""
    partner = partner or make_partner(session, "kc-chiefs")
    event = make_event(session, partner, title=title)
    trip = make_trip(session, partner, event)
    request = TripRequest(
        partner_id=partner.id,
        event_id=event.id,
        origin_name="Wichita",
        origin_region="KS",
        departs_at=event.starts_at - timedelta(hours=5),
        expected_riders=40,
        vehicle_kind="coach",
        status="awarded",
        trip_id=trip.id,
    )
    session.add(request)
    session.flush()
    quote = Quote(
        request_id=request.id,
        operator_id=operator.id,
        vehicle_kind="coach",
        seats=56,
        amount=amount,
        currency="USD",
        valid_until=utcnow() + timedelta(days=3),
        status="awarded",
    )
    session.add(quote)
    session.flush()
    request.awarded_quote_id = quote.id
    trip.operator_id = operator.id
    trip.quote_id = quote.id
    session.flush()
    return trip


def run_to_kickoff(session: Session, trip: Trip) -> None:
    """The trip confirmed and its event started: the next sweep completes it."""
    trip.status = "confirmed"
    trip.confirmed_at = utcnow()
    trip.event.starts_at = utcnow() - timedelta(minutes=1)
    session.flush()


def complete(session: Session, trip: Trip) -> None:
    run_to_kickoff(session, trip)
    assert trip_outcomes.complete_trip_if_done(session, trip.id)


def payouts(session: Session) -> list[Payout]:
    return list(
        session.scalars(
            select(Payout).order_by(Payout.id).execution_options(populate_existing=True)
        )
    )
