"""A trip's outcomes and what they do to its pledges: confirmed at its threshold, failed at the
deadline, canceled by the partner, completed once its event starts; a grace period running out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import (
    IllegalTransition,
)
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.operators.operator_trips import tell_trip_operator
from widget_server.domain.operators.payouts import owe_payout
from widget_server.domain.pledges import waitlist
from widget_server.domain.pledges.claims import load_pledge
from widget_server.domain.pledges.refunds import request_refund
from widget_server.domain.pledges.transitions import transition
from widget_server.domain.work import schedule
from widget_server.models import Event, Pledge, Trip
from widget_server.models.types import utcnow
from widget_server.webhooks.outbox import emit


def confirm_trip(session: Session, trip: Trip, *, now: datetime) -> bool:
    """open -> confirmed, once: the pledge that reaches min_riders tips it and every pledge on
    it gets charged by jobs. Returns False if it was not open (someone else tipped it)."""
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip.id, Trip.status == "open", Trip.seats_pledged >= Trip.min_riders)
        .values(status="confirmed", confirmed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(trip)
    if result.rowcount != 1:
        return False
    record(session, trip.partner_id, "system", "trip.confirmed", "trip", trip.id)
    emit(session, trip.partner_id, "trip.confirmed", trip)
    tell_trip_operator(session, trip, "trip.confirmed")
    schedule(session, "charge_trip", trip.id)
    return True


def fail_trip_if_overdue(session: Session, trip_id: str, *, now: datetime | None = None) -> bool:
    """open -> failed at the deadline below min_riders: every pledge released, nobody charged."""
    now = now or utcnow()
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip_id, Trip.status == "open", Trip.pledge_deadline <= now)
        .values(status="failed", failed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    trip = session.get(Trip, trip_id, populate_existing=True)
    record(session, trip.partner_id, "system", "trip.failed", "trip", trip.id)
    for pledge in pledges_of(session, trip_id, "pledged"):
        transition(session, pledge, "released", actor="system", reason="trip failed")
        queue_pledge_email(session, pledge, "trip_failed")
    waitlist.refresh_waitlist(session, trip_id, now=now)  # its offers end and the line closes
    session.refresh(trip)
    emit(session, trip.partner_id, "trip.failed", trip)
    tell_trip_operator(session, trip, "trip.failed")
    return True


def cancel_trip(session: Session, trip: Trip, *, actor: str, now: datetime | None = None) -> Trip:
    """Cancel a trip before it completes: unpaid pledges are released, paid ones refunded."""
    now = now or utcnow()
    previous = trip.status
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip.id, Trip.status.in_(("draft", "open", "confirmed")))
        .values(status="canceled", canceled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(trip)
    if result.rowcount != 1:
        raise IllegalTransition(f"a {trip.status} trip cannot be canceled")
    record(session, trip.partner_id, actor, "trip.canceled", "trip", trip.id, {"from": previous})
    for pledge in pledges_of(session, trip.id, "pledged", "action_required"):
        transition(session, pledge, "released", actor=actor, reason="trip canceled")
        queue_pledge_email(session, pledge, "trip_canceled")
    for pledge in pledges_of(session, trip.id, "paid"):
        request_refund(session, pledge, now=now)
    # `charging` pledges end by themselves: finish_charge sees the trip canceled, and a
    # re-claim only asks the provider what became of the attempt (`begin_charge`).
    # Offers end now, not when they lapse: their held seats and claims go with the trip.
    waitlist.refresh_waitlist(session, trip.id, now=now)
    session.refresh(trip)
    emit(session, trip.partner_id, "trip.canceled", trip)
    tell_trip_operator(session, trip, "trip.canceled")
    return trip


def drop_if_grace_expired(session: Session, pledge_id: str, *, now: datetime | None = None) -> bool:
    """action_required past its grace period -> dropped, seats freed."""
    now = now or utcnow()
    pledge = load_pledge(session, pledge_id)
    if pledge.status != "action_required" or pledge.grace_expires_at > now:
        return False
    transition(session, pledge, "dropped", actor="system", reason="grace period over")
    queue_pledge_email(session, pledge, "pledge_dropped")
    return True


def complete_trip_if_done(session: Session, trip_id: str, *, now: datetime | None = None) -> bool:
    """confirmed -> completed once its event has started; its operator is owed its quote."""
    now = now or utcnow()
    started = select(Event.id).where(Event.id == Trip.event_id, Event.starts_at <= now)
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip_id, Trip.status == "confirmed", started.exists())
        .values(status="completed", completed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        trip = session.get(Trip, trip_id, populate_existing=True)
        record(session, trip.partner_id, "system", "trip.completed", "trip", trip.id)
        tell_trip_operator(session, trip, "trip.completed")
        owe_payout(session, trip, now=now)
    return result.rowcount == 1


def pledges_of(session: Session, trip_id: str, *statuses: str) -> list[Pledge]:
    return list(
        session.scalars(
            select(Pledge)
            .where(Pledge.trip_id == trip_id, Pledge.status.in_(statuses))
            .order_by(Pledge.id)
        )
    )
