"""One trip under random sequences of pledges, withdrawals, waitlist joins, offers, claims,
offer expiries (a fake clock), capacity changes, deadline moves, cancel, confirm and charges
(jobs run with the simulated provider) keeps the seat and waitlist invariants, and the sale
decision (pledges/sales.py) always says what a pledge or a waitlist join then gets (hypothesis
state machine; SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import bindparam, select

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from widget_server.domain import catalog
from widget_server.domain.errors import DomainError, SoldOut
from widget_server.domain.pledges import (
    fan_changes,
    planning,
    recording,
    sales,
    trip_outcomes,
    waitlist,
)
from widget_server.extensions import db
from widget_server.models import Partner, Pledge, Trip, WaitlistEntry
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.models.types import utcnow

_numbers = count()
ENDED_TRIP = ("canceled", "failed")
# Once a trip is over, each of its pledges is in one of these for good.
TERMINAL = {
    "canceled": ("canceled", "released", "refunded", "dropped"),
    "failed": ("canceled", "released", "dropped"),
    "completed": ("canceled", "released", "paid", "refunded", "dropped"),
}


class TripLife(RuleBasedStateMachine):
    app = None  # set by the test

    @initialize(capacity=st.integers(2, 8), threshold=st.integers(1, 8))
    def open_trip(self, capacity, threshold):
        self.context = self.app.app_context()
        self.context.push()
        with db.transaction() as session:
            partner = make_partner(session, f"life-{next(_numbers)}")
            trip = make_trip(
                session, partner, capacity=capacity, min_riders=min(threshold, capacity)
            )
            self.partner_id, self.trip_id = partner.id, trip.id
            self.stop_id = trip.stops[0].id
            self.hold_hours = partner.waitlist_hold_hours
        self.now = utcnow()

    def teardown(self):
        if getattr(self, "context", None) is not None:
            self.context.pop()

    # ---- reads ------------------------------------------------------------------------------

    def _trip(self) -> Trip:
        db.session.expire_all()
        return db.session.get(Trip, self.trip_id)

    def _pledges(self, *statuses) -> list[Pledge]:
        query = select(Pledge).where(Pledge.trip_id == self.trip_id).order_by(Pledge.id)
        if statuses:
            query = query.where(Pledge.status.in_(statuses))
        return list(db.session.scalars(query.execution_options(populate_existing=True)))

    def _entries(self, *statuses) -> list[WaitlistEntry]:
        query = select(WaitlistEntry).where(WaitlistEntry.trip_id == self.trip_id)
        if statuses:
            query = query.where(WaitlistEntry.status.in_(statuses))
        query = query.order_by(WaitlistEntry.position)
        return list(db.session.scalars(query.execution_options(populate_existing=True)))

    def _pledge(self, stop_id: str, seats: int, name: str, email: str, offer=None) -> None:
        """A pledge with a working card at the fake clock's time (of a waitlist `offer`)."""
        request = planning.PledgeRequest(
            stop_id=stop_id, seats=seats, name=name, email=email, payment_method="pm_card_visa"
        )
        with db.transaction() as session:
            recording.create_pledge(
                session,
                self.app.extensions["ridepledge.payments"],
                session.get(Partner, self.partner_id),
                self.trip_id,
                request,
                now=self.now,
                waitlist_offer=offer,
            )

    def _fan(self) -> str:
        return f"fan{next(_numbers)}@example.com"  # one fan per pledge: the cap never bites

    # ---- rules ------------------------------------------------------------------------------

    @rule(seats=st.integers(1, 4))
    def pledge(self, seats):
        """A new fan pledges: taken exactly when the decision has the seats on sale."""
        decision = sales.decide(self._trip(), self.now)
        try:
            self._pledge(self.stop_id, seats, "Fan", self._fan())
        except DomainError as exc:
            assert decision.seats_available < seats, (decision, exc)
            sold_out = decision.selling  # selling, but not these seats: sold out
            assert isinstance(exc, SoldOut) == sold_out, (decision, exc)
            return
        assert decision.seats_available >= seats, decision

    @rule()
    def sell_out(self):
        """Fans take every seat on sale (so that the waitlist has something to do)."""
        for _ in range(10):
            available = sales.decide(self._trip(), self.now).seats_available
            if not available:
                return
            self.pledge(min(available, 4))

    @rule(seats=st.integers(1, 4))
    def join_waitlist(self, seats):
        """A new fan joins the line: taken while the waitlist is open (and for a party larger
        than the seats on sale); refused while the seats are there to pledge."""
        decision = sales.decide(self._trip(), self.now)
        try:
            with db.transaction() as session:
                waitlist.join_waitlist(
                    session,
                    session.get(Partner, self.partner_id),
                    self.trip_id,
                    stop_id=self.stop_id,
                    seats=seats,
                    name="Waiter",
                    email=self._fan(),
                    now=self.now,
                )
        except DomainError as exc:
            assert not decision.waitlist_open, (decision, exc)
            assert not decision.selling or decision.seats_available >= seats, (decision, exc)
            return
        assert decision.selling and decision.seats_available < seats, decision

    @rule(data=st.data())
    def withdraw(self, data):
        pledges = self._pledges("pledged")
        if not pledges:
            return
        pledge = data.draw(st.sampled_from(pledges))
        allowed = fan_changes.can_withdraw(pledge)
        try:
            with db.transaction() as session:
                fan_changes.withdraw_pledge(session, pledge)
        except DomainError:
            assert not allowed
            return
        assert allowed

    @rule()
    def offer(self):
        """The waitlist refresh (the job freed seats queue) runs now."""
        with db.transaction() as session:
            waitlist.refresh_waitlist(session, self.trip_id, now=self.now)

    @rule(data=st.data())
    def claim(self, data):
        """A fan with an offer takes the held seats."""
        offers = self._entries("offered")
        if not offers:
            return
        entry = data.draw(st.sampled_from(offers))
        try:
            self._pledge(entry.stop_id, entry.seats, entry.name, entry.email, offer=entry.id)
        except DomainError:
            return

    @rule()
    def offers_expire(self):
        """The clock passes the offers' hold; the refresh ends them and offers again."""
        self.now += timedelta(hours=self.hold_hours, minutes=1)
        self.offer()

    @rule(capacity=st.integers(1, 10))
    def change_capacity(self, capacity):
        trip = self._trip()
        try:
            with db.transaction() as session:
                catalog.update_trip(
                    session, session.merge(trip), {"capacity": capacity}, actor="test", now=self.now
                )
        except DomainError:
            return

    @rule(hours=st.sampled_from([-48, -6, 6, 48]))
    def move_deadline(self, hours):
        trip = self._trip()
        try:
            with db.transaction() as session:
                catalog.update_trip(
                    session,
                    session.merge(trip),
                    {"pledge_deadline": trip.pledge_deadline + timedelta(hours=hours)},
                    actor="test",
                    now=self.now,
                )
        except DomainError:
            return

    @rule(now=st.integers(0, 5))
    def cancel(self, now):
        """The partner cancels (one draw in six: an ended trip has little left to explore)."""
        trip = self._trip()
        if now == 0 and trip.status in ("open", "confirmed"):
            with db.transaction() as session:
                trip_outcomes.cancel_trip(session, session.merge(trip), actor="test", now=self.now)
            run_jobs(self.app)  # the worker settles what the cancel queued (refunds, the line)

    @rule()
    def confirm(self):
        with db.transaction() as session:
            trip_outcomes.confirm_trip(session, session.get(Trip, self.trip_id), now=self.now)

    @rule()
    def charge(self):
        """The worker runs its queued jobs (charges, refunds, waitlist refreshes, emails)."""
        run_jobs(self.app)

    @rule(hours=st.sampled_from([24, 24 * 11, 24 * 40]))
    def time_passes(self, hours):
        """The clock moves on; the sweeps fail an overdue trip and complete a run one."""
        self.now += timedelta(hours=hours)
        with db.transaction() as session:
            trip_outcomes.fail_trip_if_overdue(session, self.trip_id, now=self.now)
        with db.transaction() as session:
            trip_outcomes.complete_trip_if_done(session, self.trip_id, now=self.now)
        self.offer()
        run_jobs(self.app)  # the worker settles what the trip's end queued

    # ---- invariants -------------------------------------------------------------------------

    @invariant()
    def seats_waitlist_and_the_sale_decision_hold(self):
        """One read of the trip, its pledges and its line per step (the checks below share it)."""
        if not hasattr(self, "trip_id"):
            return
        trip, pledges, entries = self._trip(), self._pledges(), self._entries()
        live = [p for p in pledges if p.status in LIVE_STATUSES]
        offered = [e for e in entries if e.status == "offered"]
        # Seats are the live pledges' and the held offers', never above capacity.
        assert trip.seats_pledged == sum(p.seats for p in live)
        assert trip.seats_held == sum(e.seats for e in offered)
        assert 0 <= trip.seats_pledged + trip.seats_held <= trip.capacity
        decision = sales.decide(trip, self.now)
        # Nothing live on a canceled or failed trip, and nothing on sale.
        if trip.status in ENDED_TRIP:
            assert live == [] and decision.seats_available == 0
        # Once a trip is over (and the worker has settled it) every pledge is terminal.
        if trip.status in TERMINAL:
            statuses = {p.status for p in pledges}
            assert statuses <= set(TERMINAL[trip.status]), (trip.status, statuses)
            assert [e for e in entries if e.status in waitlist.ACTIVE] == []
        self._seat_update_agrees(decision)

    def _seat_update_agrees(self, decision):
        """The SQL the seat-taking UPDATE runs puts exactly `seats_available` seats on sale
        (the time rules are checked on the row it returns, like `closed_reason`)."""
        if decision.reason in ("deadline", "departed"):
            return

        def on_sale(seats: int) -> bool:
            where = sales.seats_on_sale_sql(bindparam("seats", seats))
            found = db.session.scalar(select(Trip.id).where(Trip.id == self.trip_id, where))
            return found is not None

        if decision.seats_available:
            assert on_sale(decision.seats_available), decision
        assert not on_sale(decision.seats_available + 1), decision


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_trip_life_keeps_seats_and_the_sale_decision_true(app):
    TripLife.app = app
    runner = TripLife.TestCase
    runner.settings = settings(
        max_examples=30,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    runner().runTest()
