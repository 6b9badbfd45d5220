"""Taking seats: the fan's seat cap and the atomic seat-taking UPDATE.

Capacity is protected by one atomic conditional UPDATE on the trip row
(`seats_pledged + n <= capacity`), never by reading and then writing, so it holds under any
concurrency on SQLite (one writer at a time) and PostgreSQL (row lock, re-checked predicate).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from widget_server.domain.errors import (
    Conflict,
    SoldOut,
)
from widget_server.domain.limits import pledge_seat_limit
from widget_server.domain.pledges import sales
from widget_server.domain.work import schedule
from widget_server.models import Pledge, Stop, Trip
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.webhooks.outbox import has_endpoints


class SeatLimitReached(Conflict):
    """The fan would hold more seats on the trip than the partner allows one fan."""

    title = "Seat limit reached"
    type = "seat-limit"


def ensure_can_sell(trip: Trip, seats: int, now: datetime, *, held: bool = False) -> None:
    """Raise unless the sale decision (pledges.sales) lets a new fan pledge `seats` now (a cheap
    early check; the seat-taking UPDATE, whose predicate is the same rule, decides under
    concurrency). `held`: the seats are already held for this fan by a waitlist offer."""
    sales.decide(trip, now).ensure_sells(seats, held=held)


_PLEDGES = Pledge.__table__.c


def seats_of_fan(trip_id):
    """SQL: the seats of the fan `:fan_key` on the trip `trip_id` in live pledges."""
    return select(func.coalesce(func.sum(_PLEDGES.seats), 0)).where(
        _PLEDGES.trip_id == trip_id,
        _PLEDGES.email_key == bindparam("fan_key"),
        _PLEDGES.status.in_(LIVE_STATUSES),
    )


_SEATS_HELD_BY_FAN = seats_of_fan(bindparam("trip_id")).where(_PLEDGES.id != bindparam("besides"))


def seats_held_by_fan(
    session: Session, trip: Trip, fan_key: str, besides: str | None = None
) -> int:
    """Seats the fan (an `email_key`) holds on `trip` through live pledges (other than the
    pledge `besides`, the one being recorded). A Core query, built once: it runs twice per
    pledge."""
    held = session.scalar(
        _SEATS_HELD_BY_FAN, {"trip_id": trip.id, "fan_key": fan_key, "besides": besides or ""}
    )
    return int(held or 0)


def ensure_within_cap(
    session: Session,
    cap: int,
    trip: Trip,
    fan_key: str,
    seats: int,
    besides: str | None = None,
) -> None:
    """Raise SeatLimitReached if `seats` more would put the fan over `cap` seats on the trip."""
    ensure_cap(cap, seats_held_by_fan(session, trip, fan_key, besides), seats)


def ensure_cap(cap: int, held: int, seats: int) -> None:
    left = pledge_seat_limit(cap, held)  # the one seat limit (domain/limits.py)
    if seats > left:
        raise SeatLimitReached(
            f"one fan may hold at most {cap} seat(s) on this trip; this email already holds "
            f"{held}, so {left} more at most",
            errors={"seats": [f"at most {left} more seat(s) for this email on this trip"]},
        )


# What record_pledge needs of the trip row as the seat-taking UPDATE locked it: what other
# transactions change (seats, status, deadline), the first stop's departure, and whether the
# partner has an enabled webhook endpoint (read here, in the statement that takes the lock,
# instead of by a query of its own; emit() then picks the endpoints that take the event).
LOCKED_TRIP = (
    Trip.seats_pledged,
    Trip.seats_held,
    Trip.status,
    Trip.min_riders,
    Trip.pledge_deadline,
    select(Stop.departs_at)
    .where(Stop.trip_id == Trip.id)
    .order_by(Stop.position)
    .limit(1)
    .scalar_subquery()
    .label("departs_at"),
    has_endpoints(Trip.partner_id),
)


# Add seats to the trip if the sale decision's rule puts them on sale (domain.pledges.sales: free
# beside the seats held for offers, no party in line that fits them, the trip still sells);
# returns the row as locked.
_TAKE_SEATS = (
    update(Trip)
    .where(Trip.id == bindparam("trip_id"), sales.seats_on_sale_sql(bindparam("seats")))
    .values(seats_pledged=Trip.seats_pledged + bindparam("seats"), updated_at=bindparam("now"))
    .returning(*LOCKED_TRIP)
    .execution_options(synchronize_session=False)
)


def take_seats(session: Session, trip: Trip, seats: int, now: datetime) -> Row:
    """Atomically add `seats` to the trip (`_TAKE_SEATS`); returns the trip row as locked
    (`LOCKED_TRIP`), or raises why not (SoldOut, or the sale closed)."""
    row = session.execute(_TAKE_SEATS, {"trip_id": trip.id, "seats": seats, "now": now}).first()
    if row is None:
        session.expire(trip)
        ensure_can_sell(trip, seats, now)  # explains why: closed, seats gone, or the line's
        raise SoldOut("this trip is sold out")  # changed again since: no seat is on sale
    # A deadline or departure passed since the plan: the seats just taken roll back with it.
    ensure_still_selling(row, now)
    # The row as this transaction locked it, without reading it again while holding the lock.
    for name in ("seats_pledged", "seats_held", "status", "min_riders", "pledge_deadline"):
        set_committed_value(trip, name, getattr(row, name))
    set_committed_value(trip, "updated_at", now)
    return row


def ensure_still_selling(locked: Row, now: datetime) -> None:
    """Raise unless the trip row as locked (`LOCKED_TRIP`) still sells at `now`."""
    sales.ensure_open(locked.status, locked.pledge_deadline, locked.departs_at, now)


def give_back_seats(
    session: Session, trip: Trip, seats: int, now: datetime, *, only_if_open: bool = False
) -> Row | None:
    """Take `seats` off the trip's pledged seats (a pledge ended, or the fan kept fewer) and
    offer them to the waitlist after commit (`waitlist.refresh_waitlist`, which a freed seat
    always goes through first). Returns the trip row as updated (status, seats_pledged,
    min_riders, partner_id); with `only_if_open`, None (and nothing freed) unless the trip is
    still open, whose row this transaction then holds (the trip cannot confirm meanwhile)."""
    statement = update(Trip).where(Trip.id == trip.id)
    if only_if_open:
        statement = statement.where(Trip.status == "open")
    row = session.execute(
        statement.values(seats_pledged=Trip.seats_pledged - seats, updated_at=now)
        .returning(Trip.status, Trip.seats_pledged, Trip.min_riders, Trip.partner_id)
        .execution_options(synchronize_session=False)
    ).first()
    session.expire(trip)
    if row is not None:
        schedule(session, "refresh_waitlist", trip.id)
    return row
