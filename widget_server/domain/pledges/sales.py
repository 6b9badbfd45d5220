"""The sale decision: can this trip sell now, how many seats, and to whom. One rule, one place.

Every face reads it: the seat-taking UPDATE (`seats_on_sale_sql`), the widget JSON and the
`/v1` trip object (`seats_available`, `waitlist_open`), the widget pages and their no-JS
forms, the public pages' schema.org `availability`, and the console. What a fan is shown is
what they get.

The rule:

1. **When.** A trip sells while it is `open` or `confirmed` and before its sales cutoff
   (`sales_cutoff`): the pledge deadline while open, and the first departure in any case.
   Otherwise it is closed (`reason` says why: `deadline`, `departed`, or the status).
2. **Free seats** are `capacity - seats_pledged - seats_held` (held: waitlist offers not yet
   claimed, which nobody else may take).
3. **The line goes first, in order.** Offers go to the first fans in line whose party fits in
   the free seats (`domain.pledges.waitlist.refresh_waitlist`). While any waiting party fits in the
   free seats, those seats are the line's (an offer is on its way) and none is on sale.
4. **Seats no waiting party can use are on sale.** When every waiting party is larger than
   the free seats, the free seats sell to anyone: a party of four in line does not keep the
   last two seats from a pair (the four keep their place for seats that free up later).
5. **The waitlist is open** while the trip sells (1) and no seat is on sale: then a join of any
   size is taken. A party larger than the seats on sale may join as well (its seats are not
   there to pledge); a party that fits is told to pledge instead (409 `not-sold-out`).

`seats_available` is the seats on sale now (0 when the trip does not sell); one pledge takes
at most `domain.limits.pledge_seat_limit` of them (the per-pledge limit and the partner's
per-fan cap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists
from sqlalchemy.orm import selectinload, undefer

from widget_server.domain.errors import Conflict, SoldOut
from widget_server.models import Trip, WaitlistEntry
from widget_server.models.types import utcnow

# Trip statuses that take pledges (subject to the cutoff and the seats).
SELLING_STATUSES = ("open", "confirmed")
# Why a trip that sells has no seat on sale: they are all taken (or held for offers), or the
# free seats wait for a party in line that fits them.
SOLD_OUT_REASONS = ("seats", "waitlist")


@dataclass(frozen=True)
class SaleDecision:
    """What a new fan can do on a trip now."""

    # The fan-facing state: open, confirmed, sold_out, closed, or the trip's status (draft,
    # completed, failed, canceled).
    state: str
    # Seats a new fan can pledge now (0 when the trip does not sell).
    seats_available: int
    # Whether a waitlist join is taken now.
    waitlist_open: bool
    # None while seats are on sale; else why not: "seats", "waitlist" (SOLD_OUT_REASONS),
    # "deadline", "departed", or the trip's status.
    reason: str | None

    @property
    def selling(self) -> bool:
        """The trip takes pledges now (time and status), seats permitting."""
        return self.reason is None or self.reason in SOLD_OUT_REASONS

    def ensure_sells(self, seats: int, *, held: bool = False) -> None:
        """Raise why a pledge of `seats` is refused (Conflict; SoldOut when seats are the
        reason). `held`: the seats are already held for this fan by a waitlist offer, so only
        the time and status count."""
        if not self.selling:
            raise _closed_error(self.reason)
        if not held and self.seats_available < seats:
            raise SoldOut(_sold_out_detail(self.seats_available, seats))


def _closed_error(reason: str) -> Conflict:
    if reason == "deadline":
        return Conflict("the pledge deadline for this trip has passed")
    if reason == "departed":
        return Conflict("this trip has departed")
    return Conflict(f"this trip is {reason} and takes no pledges")


def _sold_out_detail(available: int, seats: int) -> str:
    if available <= 0:
        return "this trip is sold out"
    return f"only {available} seat(s) left; you asked for {seats}"


def sales_cutoff(status: str, pledge_deadline: datetime, departs_at: datetime | None):
    """When a trip in `status` stops taking pledges (None: it takes none, or has no time
    limit): the earlier of the pledge deadline (while open) and the first departure."""
    if status not in SELLING_STATUSES:
        return None
    times = [t for t in (pledge_deadline if status == "open" else None, departs_at) if t]
    return min(times) if times else None


def closed_reason(
    status: str, pledge_deadline: datetime, departs_at: datetime | None, now: datetime
) -> str | None:
    """Why a trip with these values takes no pledge at `now` ("deadline", "departed", or its
    status), or None if it takes them (seats permitting)."""
    if status not in SELLING_STATUSES:
        return status
    cutoff = sales_cutoff(status, pledge_deadline, departs_at)
    if cutoff is None or cutoff > now:
        return None
    return "deadline" if status == "open" and pledge_deadline <= now else "departed"


def ensure_open(
    status: str, pledge_deadline: datetime, departs_at: datetime | None, now: datetime
) -> None:
    """Raise (Conflict) unless a trip with these values takes pledges at `now`."""
    closed = closed_reason(status, pledge_deadline, departs_at, now)
    if closed is not None:
        raise _closed_error(closed)


def sale_closed(trip: Trip, now: datetime) -> str | None:
    """`closed_reason` of the trip: None while it takes pledges (seats permitting)."""
    return closed_reason(trip.status, trip.pledge_deadline, trip.departs_at, now)


def trip_sales_cutoff(trip: Trip):
    """`sales_cutoff` of the trip: when it stops taking pledges and waitlist offers."""
    return sales_cutoff(trip.status, trip.pledge_deadline, trip.departs_at)


def free_seats(capacity, seats_pledged, seats_held):
    """Seats neither pledged nor held for an offer (numbers, or SQL over the trip's columns)."""
    return capacity - seats_pledged - seats_held


def waiting_party_fits(free: int, smallest_waiting_party: int | None) -> bool:
    """Rule 3: some party waiting in line fits in the free seats (so they are the line's)."""
    return smallest_waiting_party is not None and smallest_waiting_party <= free


def waiting_party_fits_sql():
    """`waiting_party_fits` in SQL, over the trip row being updated (`trips`)."""
    return exists().where(
        WaitlistEntry.trip_id == Trip.id,
        WaitlistEntry.status == "waiting",
        WaitlistEntry.seats <= free_seats(Trip.capacity, Trip.seats_pledged, Trip.seats_held),
    )


def seats_on_sale_sql(seats):
    """The WHERE clause of the seat-taking UPDATE: `seats` (a bind parameter) are on sale on
    the trip row. The status is what concurrent transactions change (confirm, cancel, fail);
    the time rules are checked on the row the UPDATE returns (`closed_reason`)."""
    free = free_seats(Trip.capacity, Trip.seats_pledged, Trip.seats_held)
    return (free >= seats) & ~waiting_party_fits_sql() & Trip.status.in_(SELLING_STATUSES)


# Loader options for reads that decide for their trips (lists above all): the stops (for the
# departure) and the line's smallest party in the same round trips, never a lazy load per trip.
DECIDING = (selectinload(Trip.stops), undefer(Trip.smallest_waiting_party))


def decide_values(
    *,
    status: str,
    pledge_deadline: datetime,
    departs_at: datetime | None,
    capacity: int,
    seats_pledged: int,
    seats_held: int,
    smallest_waiting_party: int | None,
    now: datetime,
) -> SaleDecision:
    """The decision over the values themselves (see the module's rule)."""
    closed = closed_reason(status, pledge_deadline, departs_at, now)
    if closed is not None:
        state = "closed" if closed in ("deadline", "departed") else status
        return SaleDecision(state, 0, False, closed)
    free = max(free_seats(capacity, seats_pledged, seats_held), 0)
    if free <= 0:
        return SaleDecision("sold_out", 0, True, "seats")
    if waiting_party_fits(free, smallest_waiting_party):
        return SaleDecision("sold_out", 0, True, "waitlist")
    return SaleDecision(status, free, False, None)


def decide(trip: Trip, now: datetime | None = None) -> SaleDecision:
    """The sale decision for `trip` at `now`. Reads `trip.smallest_waiting_party` (deferred:
    reads that decide for many trips load it with `undefer`, see `DECIDING`)."""
    return decide_values(
        status=trip.status,
        pledge_deadline=trip.pledge_deadline,
        departs_at=trip.departs_at,
        capacity=trip.capacity,
        seats_pledged=trip.seats_pledged,
        seats_held=trip.seats_held,
        smallest_waiting_party=trip.smallest_waiting_party,
        now=now or utcnow(),
    )
