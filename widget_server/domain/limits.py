"""Absolute limits of the product, and the seat limit of one pledge, in one place (no
imports: the models use them too)."""

# Seats one pledge may take, whatever the partner allows (a partner may set a lower cap per
# fan; it can never be higher). The pledges table's check constraint uses the same number, and
# a party on the waitlist is a pledge to come (domain/waitlist.py).
MAX_SEATS_PER_PLEDGE = 10


def pledge_seat_limit(
    max_seats_per_fan: int, seats_held_by_fan: int = 0, seats_available: int | None = None
) -> int:
    """The most seats one new pledge may ask for: the product's per-pledge limit, what the
    partner's per-fan cap leaves the fan (`seats_held_by_fan` already held on the trip) and,
    when given, the seats on sale (the sale decision's `seats_available`). 0: none."""
    limit = min(MAX_SEATS_PER_PLEDGE, max_seats_per_fan - seats_held_by_fan)
    if seats_available is not None:
        limit = min(limit, seats_available)
    return max(limit, 0)
