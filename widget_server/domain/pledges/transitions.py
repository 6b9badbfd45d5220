"""Pledge state transitions: which status may follow which, and the one function that moves a
pledge (frees its seats when it stops being live, records history, audit and webhooks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.expression import ClauseElement

from widget_server.domain.audit import record_at_once
from widget_server.domain.errors import (
    IllegalTransition,
)
from widget_server.domain.pledges.seat_taking import give_back_seats
from widget_server.domain.pricing.add_ons import release_stock
from widget_server.models import Pledge, PledgeStatusChange
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.models.types import utcnow
from widget_server.webhooks.outbox import emit, has_endpoints

# Pledge statuses partners hear about by webhook (`pledge.<status>`).
NOTIFIED_STATUSES = ("canceled", "paid", "action_required", "dropped", "refunded")

# Which status may follow which (product spec, "Pledge lifecycle and money").
ALLOWED_TRANSITIONS = {
    None: {"pledged"},
    "pledged": {"charging", "canceled", "released"},
    "charging": {"paid", "action_required", "released", "dropped"},
    "action_required": {"charging", "dropped", "released", "canceled"},
    "paid": {"refunded"},
    "dropped": set(),
    "canceled": set(),
    "released": set(),
    "refunded": set(),
}


_INSERT_STATUS_CHANGE = insert(PledgeStatusChange.__table__)


def insert_status_change(
    session: Session,
    pledge_id: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """One row of the pledge's status history, written at once (a Core INSERT: every pledge
    and every charge writes one or two, and the unit of work costs far more CPU)."""
    session.execute(
        _INSERT_STATUS_CHANGE,
        {
            "pledge_id": pledge_id,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "actor": actor,
            "created_at": now,
        },
    )


def transition(
    session: Session,
    pledge: Pledge,
    to_status: str,
    *,
    actor: str,
    reason: str | None = None,
    **changes,
) -> Pledge:
    """Move `pledge` to `to_status` if nobody moved it first; frees its seats when it stops
    being live; records history and audit. Raises IllegalTransition otherwise."""
    from_status = pledge.status
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise IllegalTransition(f"a {from_status} pledge cannot become {to_status}")
    now = utcnow()
    changed = session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.status == from_status)
        .values(status=to_status, updated_at=now, **changes)
        # Its seats as this UPDATE found them (a fan may have changed them since `pledge` was
        # read: fan_changes.change_seats), so exactly those are freed.
        .returning(has_endpoints(Pledge.partner_id), Pledge.seats)
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        session.refresh(pledge)
        raise IllegalTransition(f"the pledge changed meanwhile; it is now {pledge.status}")
    set_committed_value(pledge, "seats", changed.seats)
    insert_status_change(session, pledge.id, from_status, to_status, actor, now, reason)
    record_at_once(
        session,
        pledge.partner_id,
        actor,
        f"pledge.{to_status}",
        "pledge",
        pledge.id,
        {"from": from_status, "reason": reason},
    )
    _updated(session, pledge, {"status": to_status, "updated_at": now, **changes})
    if to_status in NOTIFIED_STATUSES and changed.has_webhooks:
        emit(session, pledge.partner_id, f"pledge.{to_status}", pledge)
    if from_status in LIVE_STATUSES and to_status not in LIVE_STATUSES:
        _free_seats(session, pledge, now)
    return pledge


def _free_seats(session: Session, pledge: Pledge, now: datetime) -> None:
    """Give the pledge's seats back to its trip. Freed seats go to the waitlist first
    (domain.pledges.waitlist), after this commits. A confirmed trip that falls below its
    threshold this way (a card dropped at the end of its grace period, a pledge canceled)
    still runs; the partner is told once per fall (`trip.below_threshold`)."""
    trip = give_back_seats(session, pledge.trip, pledge.seats, now)
    release_stock(session, pledge)  # its add-ons go back on sale with its seats
    fell_below = trip.seats_pledged < trip.min_riders <= trip.seats_pledged + pledge.seats
    if trip.status == "confirmed" and fell_below:
        details = {"seats_pledged": trip.seats_pledged, "min_riders": trip.min_riders}
        record_at_once(
            session,
            trip.partner_id,
            "system",
            "trip.below_threshold",
            "trip",
            pledge.trip_id,
            details,
        )
        emit(session, trip.partner_id, "trip.below_threshold", pledge.trip)


def _updated(session: Session, pledge: Pledge, values: dict) -> None:
    """The pledge as the UPDATE above left it: the values written, without reading the row back
    (SQL expressions among them are read back)."""
    if any(isinstance(value, ClauseElement) for value in values.values()):
        session.refresh(pledge)
        return
    for name, value in values.items():
        set_committed_value(pledge, name, value)
