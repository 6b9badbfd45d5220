"""The waitlist of a sold-out trip.

Fans join while the trip is sold out. When seats free up (a withdrawal, a dropped pledge, a
refund, more capacity), `refresh_waitlist` offers them to the first fans in line whose seats
fit, holding those seats for the partner's `waitlist_hold_hours` (at most until pledges close).
Held seats are counted in `trips.seats_held`, and whether free seats sell to a new fan or wait
for the line is the sale decision's rule (pledges/sales.py): while a party in line fits in the
free seats they are the line's; seats no waiting party can use are on sale. An offer that
expires or is declined passes on.

Never offered twice, under any concurrency: every change starts by locking the trip row (an
UPDATE: PostgreSQL's row lock, SQLite's single writer), entries move with conditional UPDATEs
(`waiting -> offered` only from `waiting`), and a claim moves the seats from held to pledged in
one conditional UPDATE that needs the entry's own offer to be live.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, true, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from widget_server.domain.limits import MAX_SEATS_PER_PLEDGE
from widget_server.domain.pledges import sales
from widget_server.domain.text import fan_email_key
from widget_server.domain.work import schedule
from widget_server.models import OutboundEmail, Partner, Trip, WaitlistEntry
from widget_server.models.types import utcnow

ACTIVE = ("waiting", "offered")
# A party in line is a pledge to come: the same per-pledge limit (domain/limits.py).
MAX_SEATS = MAX_SEATS_PER_PLEDGE


class NotSoldOut(Conflict):
    title = "Not sold out"
    type = "not-sold-out"


class AlreadyWaiting(Conflict):
    title = "Already on the waitlist"
    type = "already-waiting"


class OfferGone(Conflict):
    title = "Offer no longer valid"
    type = "offer-gone"


def _lock(session: Session, trip_id: str, now: datetime):
    """Lock the trip row for this transaction and read its seats afresh."""
    row = session.execute(
        update(Trip)
        .where(Trip.id == trip_id)
        .values(updated_at=now)
        .returning(Trip.capacity, Trip.seats_pledged, Trip.seats_held, Trip.status)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise NotFound(f"no trip {trip_id}")
    return row


def queue_waitlist_email(session: Session, entry: WaitlistEntry, kind: str) -> None:
    email = OutboundEmail(
        partner_id=entry.partner_id,
        waitlist_entry_id=entry.id,
        kind=kind,
        to_address=entry.email,
        locale=entry.locale,
        context={},
        status="pending",
        attempts=0,
    )
    session.add(email)
    session.flush()
    schedule(session, "send_email", email.id)


def join_waitlist(
    session: Session,
    partner: Partner,
    trip_id: str,
    *,
    stop_id: str,
    seats: int,
    name: str,
    email: str,
    locale: str = "en",
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put a fan in line for `seats` on a trip whose seats are not on sale to them (the sale
    decision, domain/pledges/sales.py: taken while it sells and fewer than `seats` are on sale;
    409 `not-sold-out` when they are). The partner's per-fan seat cap applies as to a pledge,
    counting the seats the fan holds already (409 `seat-limit`): an offer the claim would
    refuse would hold seats for hours."""
    # Imported here: pledging takes held seats from this module (a cycle at import time).
    from widget_server.domain.pledges.seat_taking import ensure_within_cap

    now = now or utcnow()
    trip = session.scalar(select(Trip).where(Trip.id == trip_id, Trip.partner_id == partner.id))
    if trip is None or trip.status == "draft":
        raise NotFound(f"no trip {trip_id}")
    if not any(stop.id == stop_id for stop in trip.stops):
        raise ValidationFailed.field("stop_id", "is not a stop of this trip")
    if not 1 <= seats <= MAX_SEATS:
        raise ValidationFailed.field("seats", f"must be from 1 to {MAX_SEATS}")
    _lock(session, trip.id, now)
    # Decided afresh, on the row this transaction now holds.
    session.expire(trip)
    decision = sales.decide(trip, now)
    if not decision.selling:
        raise Conflict("this trip no longer takes pledges or waitlist requests")
    if decision.seats_available >= seats:
        raise NotSoldOut("seats are available: pledge them instead")
    key = fan_email_key(email)  # the same fan as the seat cap counts (fan+1@x is fan@x)
    # Under the trip's row lock, as record_pledge checks it: a racing pledge of this fan has
    # committed by now.
    ensure_within_cap(session, partner.max_seats_per_fan, trip, key, seats)
    for other in session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.trip_id == trip.id, WaitlistEntry.status.in_(ACTIVE)
        )
    ):
        if fan_email_key(other.email) == key:
            raise AlreadyWaiting("this email is already on the waitlist for this trip")
    position = (
        session.scalar(
            select(func.coalesce(func.max(WaitlistEntry.position), 0)).where(
                WaitlistEntry.trip_id == trip.id
            )
        )
        + 1
    )
    entry = WaitlistEntry(
        partner_id=partner.id,
        trip_id=trip.id,
        stop_id=stop_id,
        position=position,
        seats=seats,
        name=name,
        email=email,
        locale=locale,
        status="waiting",
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    session.flush()
    record(session, partner.id, "fan", "waitlist.joined", "waitlist_entry", entry.id)
    queue_waitlist_email(session, entry, "waitlist_joined")
    return entry


def refresh_waitlist(session: Session, trip_id: str, *, now: datetime | None = None) -> list[str]:
    """Expire lapsed offers, stop offers once pledges close, and offer free seats to the first
    fans in line who fit. Safe to run any number of times. Returns the ids offered now."""
    now = now or utcnow()
    row = _lock(session, trip_id, now)
    trip = session.get(Trip, trip_id, populate_existing=True)
    closed = sales.sale_closed(trip, now) is not None
    lapsed = session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.trip_id == trip_id,
            WaitlistEntry.status == "offered",
            (WaitlistEntry.offer_expires_at <= now) if not closed else true(),
        )
    ).all()
    released = 0
    for entry in lapsed:
        released += _end_offer(session, entry, "closed" if closed else "expired", now)
    if closed:
        session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.trip_id == trip_id, WaitlistEntry.status == "waiting")
            .values(status="closed", updated_at=now)
            .execution_options(synchronize_session=False)
        )
    held = row.seats_held - released
    if released:
        _move_held(session, trip_id, -released)
    if closed:
        return []
    free = row.capacity - row.seats_pledged - held
    hold_until = now + timedelta(hours=trip.event.partner.waitlist_hold_hours)
    cutoff = sales.trip_sales_cutoff(trip)
    if cutoff is not None:
        hold_until = min(hold_until, cutoff)  # an offer never outlives the sale
    offered: list[str] = []
    for entry in session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.trip_id == trip_id, WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.position)
    ):
        if free <= 0:
            break
        if entry.seats > free:
            continue  # the first in line who fit: a larger party keeps its place
        moved = session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "waiting")
            .values(status="offered", offered_at=now, offer_expires_at=hold_until, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            continue
        free -= entry.seats
        _move_held(session, trip_id, entry.seats)
        session.refresh(entry)
        record(session, entry.partner_id, "system", "waitlist.offered", "waitlist_entry", entry.id)
        queue_waitlist_email(session, entry, "waitlist_offer")
        offered.append(entry.id)
    session.expire(trip)
    return offered


def shorten_offers(session: Session, trip: Trip, *, now: datetime | None = None) -> int:
    """After the trip's sales cutoff moved (an earlier deadline): offers made already end no
    later than the new cutoff (a claim needs `offer_expires_at > now`; the sweep then ends them
    as lapsed). Returns how many offers were shortened."""
    cutoff = sales.trip_sales_cutoff(trip)
    if cutoff is None:
        return 0
    return session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.trip_id == trip.id,
            WaitlistEntry.status == "offered",
            WaitlistEntry.offer_expires_at > cutoff,
        )
        .values(offer_expires_at=cutoff, updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def _end_offer(session: Session, entry: WaitlistEntry, status: str, now: datetime) -> int:
    """offered -> `status`; the seats it held (0 if someone else ended it first)."""
    moved = session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "offered")
        .values(status=status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return 0
    record(session, entry.partner_id, "system", f"waitlist.{status}", "waitlist_entry", entry.id)
    return entry.seats


def _move_held(session: Session, trip_id: str, seats: int) -> None:
    result = session.execute(
        update(Trip)
        .where(
            Trip.id == trip_id,
            Trip.seats_held + seats >= 0,
            Trip.seats_pledged + Trip.seats_held + seats <= Trip.capacity,
        )
        .values(seats_held=Trip.seats_held + seats)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # the trip row is locked by us: this is a bug, not a race
        raise Conflict("seats held would leave the trip's capacity")


def decline_offer(session: Session, entry: WaitlistEntry, *, now: datetime | None = None) -> None:
    """The fan says no thanks: the seats pass to the next in line."""
    now = now or utcnow()
    _lock(session, entry.trip_id, now)
    released = _end_offer(session, entry, "declined", now)
    if not released:
        raise IllegalTransition(f"this offer is {entry.status}")
    _move_held(session, entry.trip_id, -released)
    refresh_waitlist(session, entry.trip_id, now=now)


def leave_line(session: Session, entry: WaitlistEntry, *, now: datetime | None = None) -> None:
    """The fan leaves the line (their data is being erased): a waiting place closes, a live
    offer passes to the next in line. Ended entries are left as they are."""
    now = now or utcnow()
    if entry.status == "offered":
        decline_offer(session, entry, now=now)
        return
    _lock(session, entry.trip_id, now)
    closed = session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "waiting")
        .values(status="closed", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount == 1:
        session.refresh(entry)
        refresh_waitlist(session, entry.trip_id, now=now)


def take_held_seats(session: Session, trip: Trip, entry_id: str, now: datetime, columns: tuple):
    """For pledges.recording: the claimed offer's held seats become pledged, in one conditional
    UPDATE; returns the trip row it locked, as `columns` (recording's choice). Raises OfferGone
    if the offer is not live."""
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise OfferGone("this offer has expired or was already used")
    # The trip row first, as every path that moves seats does (refresh_waitlist, decline):
    # locking the entry first could deadlock against a sweep ending this very offer. If the
    # offer is not live after all, OfferGone rolls the seat move back.
    row = session.execute(
        update(Trip)
        .where(Trip.id == trip.id, Trip.seats_held >= entry.seats)
        .values(
            seats_held=Trip.seats_held - entry.seats,
            seats_pledged=Trip.seats_pledged + entry.seats,
            updated_at=now,
        )
        .returning(*columns)
        .execution_options(synchronize_session=False)
    ).first()
    claimed = session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.id == entry_id,
            WaitlistEntry.trip_id == trip.id,
            WaitlistEntry.status == "offered",
            WaitlistEntry.offer_expires_at > now,
        )
        .values(status="claimed", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(trip)
    session.expire(entry)
    if claimed.rowcount != 1:
        raise OfferGone("this offer has expired or was already used")
    if row is None:
        raise OfferGone("the held seats are gone")
    return row


def link_pledge(session: Session, entry_id: str, pledge_id: str) -> None:
    """Record which pledge a claimed offer became (once the pledge row exists)."""
    session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == "claimed")
        .values(pledge_id=pledge_id)
        .execution_options(synchronize_session=False)
    )


def trips_to_refresh(session: Session, *, now: datetime | None = None) -> list[str]:
    """For the sweep: trips with a lapsed offer, or people waiting (seats may have freed, or
    pledges may have closed)."""
    now = now or utcnow()
    lapsed = select(WaitlistEntry.trip_id).where(
        WaitlistEntry.status == "offered", WaitlistEntry.offer_expires_at <= now
    )
    waiting = select(WaitlistEntry.trip_id).where(WaitlistEntry.status == "waiting")
    return sorted(set(session.scalars(lapsed.union(waiting))))
