"""Absolute limits of the product, in one place for the domain.

The seats one pledge may take are a column constraint of the pledges table, so the number is
declared with the table (`models/pledges.py`) and read here: the schema sits below the domain.
"""

from datetime import timedelta

from widget_server.models.pledges import MAX_SEATS_PER_PLEDGE

__all__ = ["MAX_AHEAD", "MAX_AHEAD_TEXT", "MAX_SEATS_PER_PLEDGE", "pledge_seat_limit"]

# How far from today a time we are told about may lie (an event, a deadline, a departure):
# the API refuses later ones, the console earlier and later ones (a year 0001 or 9999 cannot
# even be shown in every time zone).
MAX_AHEAD = timedelta(days=5 * 366)
MAX_AHEAD_TEXT = "5 years"


def pledge_seat_limit(
    max_seats_per_fan: int, seats_held_by_fan: int = 0, seats_available: int | None = None
) -> int:
    """The most seats one new pledge may ask for: the product's per-pledge limit, what the
    partner's per-fan cap leaves the fan (`seats_held_by_fan` already held on the trip) and,
    when given, the seats on sale (the sale decision's `seats_available`). 0: none. A party on
    the waitlist is a pledge to come, under the same limit (domain/pledges/waitlist.py)."""
    limit = min(MAX_SEATS_PER_PLEDGE, max_seats_per_fan - seats_held_by_fan)
    if seats_available is not None:
        limit = min(limit, seats_available)
    return max(limit, 0)
