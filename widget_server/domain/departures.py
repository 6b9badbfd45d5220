"""Trip day: "ready to leave this stop" and the bus leaving it.

For each stop the driver may, once, send the stop's riders not yet boarded one message ("The
bus leaves in 5 minutes from <stop>"): an email through the fan email outbox, each rider in
their own language, or the driver's own words when they changed the prefilled text. Then the
driver records the bus leaving the stop (`leave_stop`), at the time the phone saw it (it may
have been queued offline); leaving the trip's last stop is the trip's departure:
`trips.departed_at` is set once and `trip.departed` goes to the partner (webhook outbox) and to
the trip's operator (`tell_operator`).

Both halves are claimed like a boarding: the stop's row is inserted if absent, then each half
is set by one conditional UPDATE, so two phones (or a queued repeat) never send the message
twice nor depart twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.checkin import DriverLink, check_time, insert_if_absent, iso
from widget_server.domain.errors import Conflict, NotFound
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.operators.operator_trips import tell_trip_operator
from widget_server.models import Boarding, Pledge, StopDeparture, Trip
from widget_server.models.trips import Stop
from widget_server.models.types import utcnow
from widget_server.representations import TripSchema
from widget_server.webhooks.outbox import emit

# The minutes the prefilled message names ("The bus leaves in 5 minutes from ...").
CALL_MINUTES = 5
# Trips that run today: a driver calls riders and leaves stops only on these.
RUNNING = ("confirmed", "completed")


def departures_of(session: Session, trip_id: str) -> dict[str, StopDeparture]:
    """The trip's stop rows (message sent, left) by stop id."""
    rows = session.scalars(select(StopDeparture).where(StopDeparture.trip_id == trip_id))
    return {row.stop_id: row for row in rows}


def _stop_of(trip: Trip, stop_id: str) -> Stop:
    stop = next((s for s in trip.stops if s.id == stop_id), None)
    if stop is None:
        raise NotFound("no such stop on this trip")
    if trip.status not in RUNNING:
        raise Conflict(f"a {trip.status} trip does not run")
    return stop


def riders_to_call(session: Session, trip: Trip, stop_id: str) -> list[Pledge]:
    """The riders of the stop who should board and have not: paid, no refund on its way, no
    boarding; by name."""
    boarded = select(Boarding.pledge_id).where(Boarding.trip_id == trip.id)
    return list(
        session.scalars(
            select(Pledge)
            .where(
                Pledge.trip_id == trip.id,
                Pledge.stop_id == stop_id,
                Pledge.status == "paid",
                Pledge.refund_requested_at.is_(None),
                Pledge.id.not_in(boarded),
            )
            .order_by(Pledge.name, Pledge.id)
        )
    )


def _claim(session: Session, trip: Trip, stop: Stop, *where, **values) -> StopDeparture | None:
    """Set `values` on the stop's row if `where` holds (the half is not done yet); the row if
    this call set them, else None."""
    insert_if_absent(session, StopDeparture, stop_id=stop.id, trip_id=trip.id, call_recipients=0)
    claimed = session.execute(
        update(StopDeparture)
        .where(StopDeparture.stop_id == stop.id, *where)
        .values(**values)
        .returning(StopDeparture.stop_id)
        .execution_options(synchronize_session=False)
    ).first()
    row = session.get(StopDeparture, stop.id, populate_existing=True)
    return row if claimed else None


def call_riders(
    session: Session,
    trip: Trip,
    stop_id: str,
    *,
    message: str | None,
    device: str,
    now: datetime | None = None,
) -> dict:
    """Send the stop's riders not yet boarded the one "ready to leave" email: `message` is the
    driver's own words, None for the prefilled message in each rider's language. Once per stop
    (409 after), never after the bus left it."""
    now = now or utcnow()
    stop = _stop_of(trip, stop_id)
    riders = riders_to_call(session, trip, stop.id)
    row = _claim(
        session,
        trip,
        stop,
        StopDeparture.called_at.is_(None),
        StopDeparture.departed_at.is_(None),
        called_at=now,
        called_by=device,
        call_message=message,
        call_recipients=len(riders),
    )
    if row is None:
        left = session.get(StopDeparture, stop.id).departed_at is not None
        raise Conflict(
            "the bus has left this stop" if left else "this stop's riders were already told"
        )
    for pledge in riders:
        queue_pledge_email(session, pledge, "bus_leaving", message=message, minutes=CALL_MINUTES)
    record(
        session,
        trip.partner_id,
        f"driver:{device}",
        "stop.riders_called",
        "trip",
        trip.id,
        {"stop_id": stop.id, "riders": len(riders), "custom_message": message is not None},
    )
    return stop_state(row)


def stop_state(row: StopDeparture | None) -> dict:
    """What the driver's page shows of a stop's day: message sent (when, to how many), left."""
    return {
        "object": "stop_departure",
        "stop_id": row.stop_id if row else None,
        "called_at": iso(row.called_at) if row else None,
        "call_recipients": row.call_recipients if row else 0,
        "departed_at": iso(row.departed_at) if row else None,
        "departed_by": row.departed_by if row else None,
    }


def leave_stop(
    session: Session,
    trip: Trip,
    stop_id: str,
    *,
    client_id: str,
    happened_at: datetime,
    device: str,
    link: DriverLink,
    now: datetime | None = None,
) -> dict:
    """Record the bus leaving the stop at `happened_at` (the phone's time), once: a repeat
    (the same phone's queue, or a second phone) gets the stop as it stands. Leaving the last
    stop departs the trip (`depart_trip`)."""
    now = now or utcnow()
    stop = _stop_of(trip, stop_id)
    check_time(trip, link, happened_at, now)
    row = _claim(
        session,
        trip,
        stop,
        StopDeparture.departed_at.is_(None),
        departed_at=happened_at,
        departed_by=device,
        departure_client_id=client_id,
    )
    if row is None:
        row = session.get(StopDeparture, stop.id)
    else:
        record(
            session,
            trip.partner_id,
            f"driver:{device}",
            "stop.departed",
            "trip",
            trip.id,
            {"stop_id": stop.id, "departed_at": iso(happened_at)},
        )
        if stop.id == trip.stops[-1].id:
            depart_trip(session, trip, at=happened_at, actor=f"driver:{device}")
    return {**stop_state(row), "trip_departed_at": iso(trip.departed_at)}


def depart_trip(session: Session, trip: Trip, *, at: datetime, actor: str) -> bool:
    """The trip left (its last stop): `departed_at` set once, `trip.departed` to the partner
    and the operator. False if it had departed already."""
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip.id, Trip.departed_at.is_(None), Trip.status.in_(RUNNING))
        .values(departed_at=at)
        .execution_options(synchronize_session=False)
    )
    session.refresh(trip)
    if result.rowcount != 1:
        return False
    record(session, trip.partner_id, actor, "trip.departed", "trip", trip.id)
    emit(
        session,
        trip.partner_id,
        "trip.departed",
        {**TripSchema().dump(trip), "departed_at": iso(at)},
    )
    tell_trip_operator(session, trip, "trip.departed")
    return True
