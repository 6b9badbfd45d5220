"""What a fan is told about a trip: one clear state, its words, and the progress bar numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext

from widget_server.domain.pledges.sales import SaleDecision, decide
from widget_server.models import Trip

# Trip statuses fans may see (drafts stay hidden).
PUBLIC_TRIP_STATUSES = ("open", "confirmed", "completed", "failed", "canceled")


@dataclass(frozen=True)
class TripState:
    trip: Trip
    # The domain's sale decision (domain/pledges/sales.py): its state is the one shown (open,
    # confirmed, sold_out, closed, completed, failed, canceled).
    decision: SaleDecision

    @property
    def id(self) -> str:
        return self.trip.id

    @property
    def state(self) -> str:
        return self.decision.state

    @property
    def can_pledge(self) -> bool:
        """Seats are on sale to a new fan now: the pledge form is shown."""
        return self.decision.seats_available > 0

    @property
    def seats_available(self) -> int:
        """Seats a new fan can pledge now: the "seats left" shown."""
        return self.decision.seats_available

    @property
    def waitlist_open(self) -> bool:
        """A waitlist join is taken now: the waitlist form is shown."""
        return self.decision.waitlist_open

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.trip.seats_pledged / self.trip.capacity))

    @property
    def threshold(self) -> int:
        return min(100, round(100 * self.trip.min_riders / self.trip.capacity))

    @property
    def label(self) -> str:
        return state_label(self.state)

    @property
    def explanation(self) -> str:
        return state_explanation(self.state, self.trip)


def trip_state(trip: Trip, now: datetime | None = None) -> TripState:
    """The fan's view of the trip: the domain's sale decision (`sales.decide`), in words."""
    return TripState(trip, decide(trip, now))


def state_label(state: str) -> str:
    labels = {
        "open": _("Open for pledges"),
        "confirmed": _("Confirmed: this bus runs"),
        "sold_out": _("Sold out"),
        "closed": _("Pledges closed"),
        "completed": _("Completed"),
        "failed": _("Did not run"),
        "canceled": _("Canceled"),
    }
    return labels[state]


def state_explanation(state: str, trip: Trip) -> str:
    texts = {
        "open": _(
            "The bus runs if %(min)s seats are pledged before the deadline. "
            "Nobody is charged unless it runs.",
            min=trip.min_riders,
        ),
        "confirmed": _("Enough fans pledged: this bus runs. New seats are charged at once."),
        "sold_out": _("This bus runs, and every seat is taken.")
        if trip.status == "confirmed"
        else _("Every seat on this bus is taken."),
        "closed": _("This trip no longer takes pledges."),
        "completed": _("This trip has taken place."),
        "failed": _(
            "Not enough seats were pledged before the deadline, so this bus does not run. "
            "Nobody was charged."
        ),
        "canceled": _(
            "The organiser canceled this bus. Nobody is charged; anyone who paid is refunded."
        ),
    }
    return texts[state]


def pledge_status_label(status: str) -> str:
    labels = {
        "pledged": _("Pledged: nothing charged yet"),
        "charging": _("Payment in progress"),
        "paid": _("Paid"),
        "action_required": _("Action needed: update your card"),
        "dropped": _("Dropped: the card was not updated in time"),
        "canceled": _("Withdrawn"),
        "released": _("Released: the trip did not run"),
        "refunded": _("Refunded"),
    }
    return labels.get(status, status)


def progress_words(trip: Trip, *, placeholders: bool = False) -> str:
    """The progress line: "12 of 40 seats pledged, confirms at 25" while the trip is open;
    "40 of 40 seats pledged" once it runs (the threshold no longer matters). In the plural form
    of the trip's capacity. With `placeholders`, the numbers are `{pledged}`, `{capacity}` and
    `{min}` for widget.js to fill in live (a new status reloads the page: new words)."""
    if placeholders:
        values = {"pledged": "{pledged}", "capacity": "{capacity}", "min": "{min}"}
    else:
        values = {"pledged": trip.seats_pledged, "capacity": trip.capacity, "min": trip.min_riders}
    if trip.status == "open":
        return ngettext(
            "%(pledged)s of %(capacity)s seat pledged, confirms at %(min)s",
            "%(pledged)s of %(capacity)s seats pledged, confirms at %(min)s",
            trip.capacity,
            **values,
        )
    return ngettext(
        "%(pledged)s of %(capacity)s seat pledged",
        "%(pledged)s of %(capacity)s seats pledged",
        trip.capacity,
        **values,
    )
