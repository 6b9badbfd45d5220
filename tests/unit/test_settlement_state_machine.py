"""Random sequences of pledges, withdrawals, card fixes, job runs (or a worker lagging past
kick-off), concurrent chargers, deadlines, grace expiries and cancellations keep the money and
seat invariants (hypothesis state machine)."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from widget_server import services
from widget_server.domain.errors import DomainError
from widget_server.domain.pledges import (
    charging,
    fan_changes,
    placing,
    planning,
    recording,
    trip_outcomes,
)
from widget_server.domain.pledges.backlog import find_backlog
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Event, Pledge, SimulatedPayment, Trip
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.models.types import utcnow

CARDS = [
    "pm_card_visa",
    "pm_card_authenticationRequired",
    "pm_card_chargeCustomerFail",
    "pm_card_chargeDeclined",
]
_slugs = count()


class CountingProvider:
    """The app's provider, counting charge calls per idempotency key: exactly one caller may
    talk to the provider about one attempt (the simulated provider never fails temporarily,
    so nothing may ever resend a key)."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name
        self.charges: Counter = Counter()
        self._lock = threading.Lock()

    def save_card(self, **kwargs):
        return self.inner.save_card(**kwargs)

    def charge(self, **kwargs):
        with self._lock:
            self.charges[kwargs["key"]] += 1
        time.sleep(0.01)  # a provider takes a while: concurrent callers overlap
        return self.inner.charge(**kwargs)

    def refund(self, **kwargs):
        return self.inner.refund(**kwargs)

    def find_charge(self, **kwargs):
        return self.inner.find_charge(**kwargs)


class Settlement(RuleBasedStateMachine):
    app = None  # set by the test

    @initialize(capacity=st.integers(3, 12), threshold=st.integers(1, 12))
    def open_trip(self, capacity, threshold):
        self.context = self.app.app_context()
        self.context.push()
        with db.transaction() as session:
            partner = make_partner(session, f"fsm-{next(_slugs)}")
            trip = make_trip(
                session, partner, capacity=capacity, min_riders=min(threshold, capacity)
            )
            self.partner_id, self.trip_id = partner.id, trip.id
            self.stop_id = trip.stops[0].id
        self.now = utcnow()
        self.failed_or_canceled_before_confirming = False
        inner = self.app.extensions["ridepledge.payments"]
        self.provider = CountingProvider(getattr(inner, "inner", inner))
        self.app.extensions["ridepledge.payments"] = self.provider

    def teardown(self):
        if getattr(self, "context", None) is not None:
            self.context.pop()

    def _trip(self) -> Trip:
        return db.session.get(Trip, self.trip_id, populate_existing=True)

    def _pledges(self, *statuses) -> list[Pledge]:
        query = select(Pledge).where(Pledge.trip_id == self.trip_id).order_by(Pledge.id)
        if statuses:
            query = query.where(Pledge.status.in_(statuses))
        return list(db.session.scalars(query.execution_options(populate_existing=True)))

    @rule(seats=st.integers(1, 4), card=st.sampled_from(CARDS))
    def pledge(self, seats, card):
        from widget_server.models import Partner

        request = planning.PledgeRequest(
            stop_id=self.stop_id,
            seats=seats,
            name="Fan",
            email="fan@example.com",
            payment_method=card,
        )
        try:
            with db.transaction() as session:
                pledge = recording.create_pledge(
                    session,
                    self.app.extensions["ridepledge.payments"],
                    session.get(Partner, self.partner_id),
                    self.trip_id,
                    request,
                    now=self.now,
                )
        except DomainError:
            return
        if self._trip().status == "confirmed":
            charging.now_or_later(
                charging.charge_pledge, services.payments(), pledge.id
            )  # as the request does

    @rule(data=st.data(), callers=st.integers(2, 6))
    def concurrent_chargers(self, data, callers):
        """The request, duplicate jobs and the sweep all try to charge one pledge at once."""
        pledges = self._pledges("pledged", "charging")
        if not pledges:
            return
        pledge_id = data.draw(st.sampled_from(pledges)).id

        start = threading.Barrier(callers)

        def charge():
            start.wait(timeout=10)
            with self.app.app_context():
                return tasks.charge_pledge(pledge_id)

        with ThreadPoolExecutor(max_workers=callers) as pool:
            outcomes = [f.result() for f in [pool.submit(charge) for _ in range(callers)]]
        assert len([o for o in outcomes if o != "skipped"]) <= 1, outcomes

    @rule()
    def worker_lags_past_kickoff(self):
        """The event starts while the worker is down: the trip is completed before any job ran
        the charges of its pledges."""
        event = db.session.get(Event, self._trip().event_id)
        self.now = max(self.now, event.starts_at + timedelta(minutes=1))
        with db.transaction() as session:
            trip_outcomes.complete_trip_if_done(session, self.trip_id, now=self.now)

    @rule()
    def worker_catches_up(self):
        """The worker is back: its queued jobs and a sweep settle every charge that is due."""
        run_jobs(self.app)
        tasks.sweep()
        trip = self._trip()
        if trip.status in ("confirmed", "completed"):
            assert self._pledges("pledged", "charging") == []

    @rule(data=st.data())
    def withdraw(self, data):
        pledges = self._pledges("pledged")
        if pledges:
            pledge = data.draw(st.sampled_from(pledges))
            try:
                with db.transaction() as session:
                    fan_changes.withdraw_pledge(session, pledge)
            except DomainError:
                pass

    @rule(data=st.data(), card=st.sampled_from(CARDS))
    def fix_card(self, data, card):
        pledges = self._pledges("action_required")
        if pledges:
            pledge = data.draw(st.sampled_from(pledges))
            try:
                placing.replace_card(services.payments(), pledge.id, card)
            except DomainError:
                return

    @rule()
    def run_worker(self):
        run_jobs(self.app)

    @rule(hours=st.sampled_from([1, 24, 50, 24 * 11]))
    def time_passes(self, hours):
        self.now += timedelta(hours=hours)
        was_open = self._trip().status == "open"
        with db.transaction() as session:
            backlog = find_backlog(session, now=self.now)
        for trip_id in backlog.overdue_trips:
            with db.transaction() as session:
                trip_outcomes.fail_trip_if_overdue(session, trip_id, now=self.now)
        for pledge_id in backlog.grace_expired:
            with db.transaction() as session:
                trip_outcomes.drop_if_grace_expired(session, pledge_id, now=self.now)
        if was_open and self._trip().status == "failed":
            self.failed_or_canceled_before_confirming = True

    @precondition(lambda self: hasattr(self, "trip_id"))
    @rule()
    def cancel_trip(self):
        trip = self._trip()
        if trip.status in ("draft", "open", "confirmed"):
            if trip.status == "open":
                self.failed_or_canceled_before_confirming = True
            with db.transaction() as session:
                trip_outcomes.cancel_trip(session, trip, actor="test")

    @invariant()
    def one_provider_call_per_charge_attempt(self):
        if hasattr(self, "provider"):
            assert all(n == 1 for n in self.provider.charges.values()), self.provider.charges

    @invariant()
    def seats_match_live_pledges_and_capacity(self):
        if not hasattr(self, "trip_id"):
            return
        trip = self._trip()
        live = sum(p.seats for p in self._pledges(*LIVE_STATUSES))
        assert trip.seats_pledged == live
        assert 0 <= trip.seats_pledged <= trip.capacity

    @invariant()
    def money_charged_equals_seats_paid_times_price(self):
        if not hasattr(self, "trip_id"):
            return
        pledges = self._pledges()
        refs = {p.id: p for p in pledges}
        succeeded = list(
            db.session.scalars(
                select(SimulatedPayment).where(
                    SimulatedPayment.kind == "charge", SimulatedPayment.status == "succeeded"
                )
            )
        )
        mine = [c for c in succeeded if c.idempotency_key.split("-")[1] in refs]
        charged_per_pledge = {}
        for charge in mine:
            pledge_id = charge.idempotency_key.split("-")[1]
            charged_per_pledge[pledge_id] = charged_per_pledge.get(pledge_id, 0) + charge.amount
        refunded = db.session.scalar(
            select(func.coalesce(func.sum(SimulatedPayment.amount), 0)).where(
                SimulatedPayment.kind == "refund",
                SimulatedPayment.charge_ref.in_([c.id for c in mine] or [""]),
            )
        )
        trip = self._trip()
        paid = [p for p in pledges if p.status == "paid"]
        for pledge_id, amount in charged_per_pledge.items():
            assert amount == refs[pledge_id].amount  # never charged twice
        assert sum(charged_per_pledge.values()) - refunded == sum(
            p.seats * trip.unit_amount for p in paid
        )
        if self.failed_or_canceled_before_confirming and trip.confirmed_at is None:
            assert mine == []  # no charge for a trip that did not run


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_settlement_invariants(app):
    Settlement.app = app
    runner = Settlement.TestCase
    runner.settings = settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    runner().runTest()
