"""The sale decision's rule (domain/pledges/sales.py) over plain values: when a trip sells, how many
seats are on sale, whether the waitlist is open, and why not."""

from datetime import UTC, datetime, timedelta

import pytest

from widget_server.domain.errors import Conflict, SoldOut
from widget_server.domain.limits import pledge_seat_limit
from widget_server.domain.pledges import sales

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
DEADLINE = NOW + timedelta(days=2)
DEPARTS = NOW + timedelta(days=3)


def decide(status="open", pledged=0, held=0, smallest=None, capacity=10, now=NOW, **times):
    return sales.decide_values(
        status=status,
        pledge_deadline=times.get("deadline", DEADLINE),
        departs_at=times.get("departs", DEPARTS),
        capacity=capacity,
        seats_pledged=pledged,
        seats_held=held,
        smallest_waiting_party=smallest,
        now=now,
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ("open", 10, False, None)),
        ({"status": "confirmed", "pledged": 4}, ("confirmed", 6, False, None)),
        ({"pledged": 7, "held": 3}, ("sold_out", 0, True, "seats")),
        # A party of 2 in line fits in 3 free seats: they are the line's.
        ({"pledged": 7, "smallest": 2}, ("sold_out", 0, True, "waitlist")),
        ({"pledged": 7, "smallest": 3}, ("sold_out", 0, True, "waitlist")),
        # Every party in line is larger than the 3 free seats: they are on sale.
        ({"pledged": 7, "smallest": 4}, ("open", 3, False, None)),
        ({"now": DEADLINE}, ("closed", 0, False, "deadline")),
        ({"status": "confirmed", "now": DEADLINE}, ("confirmed", 10, False, None)),
        ({"status": "confirmed", "now": DEPARTS}, ("closed", 0, False, "departed")),
        # A departure before the deadline closes an open trip too.
        ({"departs": NOW}, ("closed", 0, False, "departed")),
        ({"status": "draft"}, ("draft", 0, False, "draft")),
        ({"status": "canceled", "smallest": 1}, ("canceled", 0, False, "canceled")),
        ({"status": "failed"}, ("failed", 0, False, "failed")),
        ({"status": "completed"}, ("completed", 0, False, "completed")),
    ],
)
def test_the_decision(kwargs, expected):
    decision = decide(**kwargs)
    got = (decision.state, decision.seats_available, decision.waitlist_open, decision.reason)
    assert got == expected


def test_a_refusal_says_why():
    with pytest.raises(SoldOut, match="sold out"):
        decide(pledged=10).ensure_sells(1)
    with pytest.raises(SoldOut, match="only 3 seat"):
        decide(pledged=7).ensure_sells(4)
    with pytest.raises(SoldOut):
        decide(pledged=7, smallest=1).ensure_sells(1)
    with pytest.raises(Conflict, match="deadline") as closed:
        decide(now=DEADLINE).ensure_sells(1)
    assert not isinstance(closed.value, SoldOut)
    decide(pledged=7, held=3).ensure_sells(2, held=True)  # an offer's own seats
    with pytest.raises(Conflict, match="canceled"):
        decide(status="canceled").ensure_sells(1, held=True)
    decide(pledged=7).ensure_sells(3)


def test_sales_close_at_the_earlier_of_deadline_and_departure():
    assert sales.sales_cutoff("open", DEADLINE, DEPARTS) == DEADLINE
    assert sales.sales_cutoff("open", DEPARTS, DEADLINE) == DEADLINE
    assert sales.sales_cutoff("confirmed", DEADLINE, DEPARTS) == DEPARTS
    assert sales.sales_cutoff("canceled", DEADLINE, DEPARTS) is None


def test_one_pledge_takes_at_most_the_limits():
    assert pledge_seat_limit(10) == 10
    assert pledge_seat_limit(25) == 10  # the per-pledge limit
    assert pledge_seat_limit(6, 4) == 2  # the partner's cap per fan, less what the fan holds
    assert pledge_seat_limit(6, 7) == 0
    assert pledge_seat_limit(10, 0, 3) == 3  # the seats on sale
