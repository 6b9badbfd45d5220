"""The pledge engine with `PAYMENTS_PROVIDER=stripe`: the real `stripe` library talks over HTTP
to the fake Stripe server, which keeps Stripe's idempotency rules and can fail, stall or drop
connections on demand. What we assert is what Stripe would show: one succeeded PaymentIntent per
pledge, under the pledge's own idempotency key, whatever went wrong on the way."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from tests.conftest import empty_all_tables, make_settings, run_jobs
from tests.factories import make_partner, make_trip
from tests.fakes.stripe_server import FakeStripe, sign_stripe_payload
from widget_server import create_app
from widget_server.domain import settlement
from widget_server.domain.settlement import ChargeAttempt
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Pledge, PledgeStatusChange, StripeEventRecord, Trip
from widget_server.models.types import utcnow
from widget_server.payments import ChargeResult, PaymentError
from widget_server.payments.stripe import StripeProvider

WEBHOOK_SECRET = "whsec_test"
UNIT_AMOUNT = 3500
PAYMENT_INTENTS = "/v1/payment_intents"
# The library's own tries for one call: the first plus max_network_retries=2.
LIBRARY_TRIES = 3


# Building a Stripe-backed app (also used by test_worker_crash) --------------------------------


def stripe_env(fake: FakeStripe) -> dict[str, str]:
    """The environment that points the service at `fake`."""
    return {
        "PAYMENTS_PROVIDER": "stripe",
        "STRIPE_SECRET_KEY": fake.api_key,
        "STRIPE_API_BASE": fake.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def stripe_app(database_url: str, instance_path, fake: FakeStripe, *, read_timeout=None) -> Flask:
    """An app using the stripe provider against `fake`; `read_timeout` (seconds) shortens the
    provider's HTTP read timeout so tests can see timeouts. Close it with `close_app`."""
    settings = make_settings(database_url, instance_path, **stripe_env(fake))
    app = create_app(settings, TESTING=True, RATELIMIT_WIDGET_WRITE="10000 per minute")
    if read_timeout is not None:
        app.extensions["ridepledge.payments"].close()
        app.extensions["ridepledge.payments"] = StripeProvider(settings, timeout=(5, read_timeout))
    return app


def close_app(app: Flask) -> None:
    """Release what the app holds: Stripe connections (of this thread) and the engine."""
    app.extensions["ridepledge.payments"].close()
    app.extensions["ridepledge.engine"].dispose()


@contextmanager
def running_fake_stripe() -> Iterator[FakeStripe]:
    """A started FakeStripe; on exit, waits for stalled requests, stops it and checks that the
    fake itself hit no bug."""
    fake = FakeStripe().start()
    try:
        yield fake
    finally:
        fake.wait_idle(timeout=10)
        fake.stop()
    assert fake.server_errors == []


# Fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def fake_stripe():
    with running_fake_stripe() as fake:
        yield fake


@dataclass
class Shop:
    """A partner with an open trip (capacity 10, confirms at 4 seats) on a Stripe-backed app."""

    app: Flask
    fake: FakeStripe
    partner: str
    trip_id: str
    stop_id: str

    @property
    def base(self) -> str:
        return f"/w/{self.partner}/api"

    @property
    def client(self):
        return self.app.test_client()

    def pledge(self, seats: int = 1, payment_method: str = "pm_card_visa", **fields):
        body = {
            "stop_id": self.stop_id,
            "seats": seats,
            "name": "Pat Fan",
            "email": f"fan{seats}@example.com",
            "payment_method": payment_method,
            **fields,
        }
        return self.client.post(f"{self.base}/trips/{self.trip_id}/pledges", json=body)

    def pledge_ok(self, seats: int = 1, payment_method: str = "pm_card_visa") -> dict:
        response = self.pledge(seats, payment_method)
        assert response.status_code == 201, response.json
        return response.json

    def pledges(self) -> list[Pledge]:
        with self.app.app_context():
            return list(db.session.scalars(select(Pledge).order_by(Pledge.id)))

    def statuses(self) -> dict[str, str]:
        return {pledge.id: pledge.status for pledge in self.pledges()}

    def trip(self) -> Trip:
        with self.app.app_context():
            return db.session.get(Trip, self.trip_id)

    def provider(self) -> StripeProvider:
        return self.app.extensions["ridepledge.payments"]

    def sweep(self) -> dict[str, int]:
        with self.app.app_context():
            return tasks.sweep()

    def charge_job(self, pledge_id: str) -> str | None:
        with self.app.app_context():
            return tasks.charge_pledge(pledge_id)

    def charge_and_die(self, pledge_id: str) -> tuple[ChargeAttempt, ChargeResult]:
        """What a worker that died after Stripe charged leaves: the pledge `charging`, the
        card charged under its key, and no finish_charge."""
        with self.app.app_context():
            with db.transaction() as session:
                attempt = settlement.begin_charge(session, pledge_id)
            result = self.provider().charge(
                pledge_id=attempt.pledge_id,
                amount=attempt.amount,
                currency=attempt.currency,
                customer_ref=attempt.customer_ref,
                payment_method_ref=attempt.payment_method_ref,
                key=attempt.key,
            )
        return attempt, result

    def age_charging_pledges(self) -> None:
        """What time passing does: `charging` pledges now count as abandoned by a dead job."""
        stale = utcnow() - settlement.STUCK_CHARGE_AFTER - timedelta(seconds=1)
        with self.app.app_context(), db.transaction() as session:
            session.execute(
                update(Pledge).where(Pledge.status == "charging").values(updated_at=stale)
            )

    def post_event(self, obj: dict, event_type: str, *, secret: str = WEBHOOK_SECRET):
        return post_event(self.client, self.fake.event_for(obj, event_type), secret=secret)


def post_event(client, event: dict, *, secret: str = WEBHOOK_SECRET):
    payload = json.dumps(event).encode()
    return client.post(
        "/stripe/webhook",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign_stripe_payload(payload, secret)},
    )


@pytest.fixture
def make_shop(database_url, migrated_engine, tmp_path, fake_stripe):
    apps = []

    def build(*, read_timeout=None) -> Shop:
        app = stripe_app(
            database_url, tmp_path / "instance", fake_stripe, read_timeout=read_timeout
        )
        apps.append(app)
        with app.app_context(), db.transaction() as session:
            partner = make_partner(session, "kc-chiefs")
            trip = make_trip(session, partner, capacity=10, min_riders=4, unit_amount=UNIT_AMOUNT)
            return Shop(app, fake_stripe, partner.slug, trip.id, trip.stops[0].id)

    yield build
    for app in apps:
        close_app(app)
    empty_all_tables(migrated_engine)


@pytest.fixture
def shop(make_shop) -> Shop:
    return make_shop()


def run_jobs_allowing_payment_errors(app: Flask) -> list[tuple]:
    """Run every queued job like `run_jobs`, but a job that fails with PaymentError (Stripe
    unreachable: huey would retry it later) is noted and the others still run."""
    huey = app.extensions["ridepledge.huey"]
    failed = []
    while (task := huey.dequeue()) is not None:
        try:
            task.execute()
        except PaymentError:
            failed.append((task.name, *task.args))
    return failed


def confirm_with_three_pledges(shop: Shop) -> list[str]:
    """Seats 1 and 1 (trip still open), then 2 that tips it: returns the pledge ids."""
    ids = [shop.pledge_ok(seats)["pledge"]["id"] for seats in (1, 1, 2)]
    assert shop.trip().status == "confirmed"
    return ids


def assert_charged_exactly_once(shop: Shop, attempts: dict[str, int] | None = None) -> None:
    """Every paid pledge has exactly one succeeded PaymentIntent at Stripe, for seats x unit
    price, made under `pledge-<id>-charge-<attempt>`; nobody else was charged."""
    paid = {pledge.id: pledge for pledge in shop.pledges() if pledge.status == "paid"}
    succeeded = shop.fake.succeeded_charges()
    assert Counter(pi["metadata"]["pledge_id"] for pi in succeeded) == dict.fromkeys(paid, 1)
    for intent in succeeded:
        pledge = paid[intent["metadata"]["pledge_id"]]
        attempt = (attempts or {}).get(pledge.id, 1)
        assert intent["metadata"]["idempotency_key"] == f"pledge-{pledge.id}-charge-{attempt}"
        assert intent["amount"] == intent["amount_received"] == pledge.seats * UNIT_AMOUNT
        assert intent["currency"] == "usd" and intent["customer"] == pledge.payment_customer_ref
        assert pledge.payment_intent_ref == intent["id"]
    assert shop.fake.total_captured() == sum(pledge.amount for pledge in paid.values())


def charge_requests(shop: Shop) -> list[dict]:
    return [r for r in shop.fake.requests if r["method"] == "POST" and r["path"] == PAYMENT_INTENTS]


def assert_every_charge_request_used_its_pledge_key(shop: Shop, attempt: int = 1) -> None:
    """Retries (the library's and ours) resend the same key: never a second key per attempt."""
    for request in charge_requests(shop):
        pledge_id = request["params"]["metadata"]["pledge_id"]
        assert request["idempotency_key"] == f"pledge-{pledge_id}-charge-{attempt}"


# Saving the card ----------------------------------------------------------------------------


def test_pledge_saves_the_card_and_charges_nothing(shop):
    body = shop.pledge_ok(seats=2)
    pledge_id = body["pledge"]["id"]
    assert body["pledge"]["status"] == "pledged"
    [customer] = shop.fake.customers.values()
    [setup] = shop.fake.setup_intents.values()
    assert customer["metadata"] == {"pledge_id": pledge_id}
    assert customer["email"] == "fan2@example.com"
    assert setup["usage"] == "off_session" and setup["status"] == "succeeded"
    assert setup["customer"] == customer["id"]
    assert shop.fake.payment_intents == {}
    [pledge] = shop.pledges()
    assert pledge.payment_customer_ref == customer["id"]
    assert pledge.payment_setup_ref == setup["id"]
    # Stripe turns the test token into a real PaymentMethod, attached to the customer.
    assert pledge.payment_method_ref == setup["payment_method"]
    assert (
        pledge.payment_method_ref.startswith("pm_") and pledge.payment_method_ref != "pm_card_visa"
    )
    assert shop.fake.payment_methods[pledge.payment_method_ref]["customer"] == customer["id"]
    keys = {r["path"]: r["idempotency_key"] for r in shop.fake.requests}
    assert keys == {
        "/v1/customers": f"pledge-{pledge_id}-setup-customer",
        "/v1/setup_intents": f"pledge-{pledge_id}-setup",
    }


@pytest.mark.parametrize(
    ("payment_method", "message"),
    [
        ("pm_card_chargeDeclined", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "Your card has insufficient funds."),
        ("pm_nope_not_a_card", "This card is not valid."),
    ],
)
def test_refused_or_unknown_card_is_a_422_on_payment_method(shop, payment_method, message):
    response = shop.pledge(payment_method=payment_method)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/card-declined")
    assert response.json["errors"] == {"payment_method": [message]}
    assert shop.pledges() == [] and shop.trip().seats_pledged == 0
    assert shop.fake.payment_intents == {}


def test_stripe_unreachable_when_saving_the_card_is_a_503(shop):
    shop.fake.fail_next(LIBRARY_TRIES, 503, "/v1/customers")
    response = shop.pledge()
    assert response.status_code == 503
    assert response.json["type"].endswith("/payments-unavailable")
    assert shop.pledges() == [] and shop.trip().seats_pledged == 0
    assert shop.pledge().status_code == 201  # nothing was left behind: a retry works


# Charging when the trip confirms ------------------------------------------------------------


def test_trip_confirms_at_threshold_and_charges_every_pledge_once(shop):
    first = shop.pledge_ok(seats=1)["pledge"]["id"]
    second = shop.pledge_ok(seats=1)["pledge"]["id"]
    assert shop.trip().status == "open" and shop.fake.payment_intents == {}
    tipping = shop.pledge_ok(seats=2)
    # The pledge that tips the trip is charged in its own request; the others by jobs.
    assert tipping["pledge"]["status"] == "paid"
    assert shop.trip().status == "confirmed"
    assert shop.statuses()[first] == shop.statuses()[second] == "pledged"
    assert "charge_trip" in run_jobs(shop.app)
    assert set(shop.statuses().values()) == {"paid"}
    assert_charged_exactly_once(shop)
    assert len(charge_requests(shop)) == 3
    # Jobs run twice and sweeps change nothing: no new request reaches Stripe.
    for pledge_id in (first, second, tipping["pledge"]["id"]):
        assert shop.charge_job(pledge_id) is None
    assert shop.sweep()["charges"] == 0
    assert len(charge_requests(shop)) == 3
    # Seats bought after confirmation are charged at once.
    late = shop.pledge_ok(seats=3)
    assert late["pledge"]["status"] == "paid"
    run_jobs(shop.app)
    assert_charged_exactly_once(shop)
    assert shop.fake.total_captured() == 7 * UNIT_AMOUNT


FAULTS = {
    "server_error": lambda fake: fake.fail_next(LIBRARY_TRIES, 500, PAYMENT_INTENTS),
    "timeout": lambda fake: fake.delay_next(LIBRARY_TRIES, 1.0, PAYMENT_INTENTS),
    "dropped_connection": lambda fake: fake.drop_next(LIBRARY_TRIES, PAYMENT_INTENTS),
}


@pytest.mark.parametrize(
    ("fault", "recovery"),
    [
        ("server_error", "job_retry"),
        ("server_error", "sweep"),
        ("timeout", "job_retry"),
        ("timeout", "sweep"),
        ("dropped_connection", "job_retry"),
        ("dropped_connection", "sweep"),
    ],
)
def test_charge_survives_payment_api_faults(make_shop, fault, recovery):
    shop = make_shop(read_timeout=0.4)
    FAULTS[fault](shop.fake)
    ids = confirm_with_three_pledges(shop)  # the tipping pledge's charge meets every fault
    run_jobs(shop.app)
    shop.fake.wait_idle(timeout=10)  # a timed-out request still completes at Stripe
    statuses = shop.statuses()
    assert sorted(statuses.values()) == ["charging", "paid", "paid"]
    [stuck] = [pledge_id for pledge_id in ids if statuses[pledge_id] == "charging"]
    charged_at_stripe = [pi["metadata"]["pledge_id"] for pi in shop.fake.succeeded_charges()]
    if fault == "server_error":  # Stripe never did it
        assert stuck not in charged_at_stripe
    else:  # Stripe charged the card, but we never heard the answer
        assert stuck in charged_at_stripe

    if recovery == "job_retry":  # huey's retry of the failed job
        assert shop.charge_job(stuck) == "paid"
    else:  # the job was lost; the sweep finds the pledge once it counts as abandoned
        assert shop.sweep()["charges"] == 0  # not yet: a job may still be working on it
        shop.age_charging_pledges()
        assert shop.sweep()["charges"] == 1
    assert set(shop.statuses().values()) == {"paid"}
    assert_charged_exactly_once(shop)
    assert_every_charge_request_used_its_pledge_key(shop)
    stuck_requests = [
        r for r in charge_requests(shop) if r["params"]["metadata"]["pledge_id"] == stuck
    ]
    # The recovery resent the same request: Stripe replayed its first answer when it had one.
    assert stuck_requests[-1]["replayed"] is (fault != "server_error")


def test_faults_spanning_several_charges_still_charge_each_pledge_once(make_shop):
    shop = make_shop(read_timeout=0.4)
    ids = [shop.pledge_ok(seats)["pledge"]["id"] for seats in (1, 1, 1)]
    shop.fake.fail_next(2, 502, PAYMENT_INTENTS)
    shop.fake.drop_next(4, PAYMENT_INTENTS)
    shop.fake.delay_next(2, 1.0, PAYMENT_INTENTS)
    ids.append(shop.pledge_ok(seats=1)["pledge"]["id"])  # tips the trip
    failed = run_jobs_allowing_payment_errors(shop.app)
    shop.fake.wait_idle(timeout=10)
    for name, pledge_id in failed:
        assert name == "charge_pledge"
        assert shop.charge_job(pledge_id) == "paid"
    shop.age_charging_pledges()
    shop.sweep()
    assert shop.statuses() == dict.fromkeys(ids, "paid")
    assert_charged_exactly_once(shop)
    assert_every_charge_request_used_its_pledge_key(shop)


def _race_after_read(monkeypatch, rival) -> None:
    """Make the next `settlement._pledge` read run `rival()` (another job, the sweep, the
    webhook) to its end right after it, before the reader writes anything. The rival runs in
    its own thread, hence its own app context and database session, like another worker."""
    read = settlement._pledge

    def read_then_race(session, pledge_id):
        pledge = read(session, pledge_id)
        monkeypatch.setattr(settlement, "_pledge", read)
        with ThreadPoolExecutor(max_workers=1) as other_worker:
            other_worker.submit(rival).result()
        return pledge

    monkeypatch.setattr(settlement, "_pledge", read_then_race)


def test_two_jobs_beginning_the_same_charge_at_once_begin_it_once(shop, monkeypatch):
    confirm_with_three_pledges(shop)
    victim = next(pid for pid, status in shop.statuses().items() if status == "pledged")

    def rival():
        with shop.app.app_context(), db.transaction() as session:
            assert settlement.begin_charge(session, victim).attempt == 1

    _race_after_read(monkeypatch, rival)
    with shop.app.app_context(), db.transaction() as session:
        assert settlement.begin_charge(session, victim) is None  # the rival owns this charge
    assert _history(shop, victim) == [(None, "pledged"), ("pledged", "charging")]
    [pledge] = [p for p in shop.pledges() if p.id == victim]
    assert (pledge.status, pledge.charge_attempts) == ("charging", 1)


def test_the_same_outcome_recorded_twice_at_once_is_recorded_once(shop, monkeypatch):
    confirm_with_three_pledges(shop)
    victim = next(pid for pid, status in shop.statuses().items() if status == "pledged")
    attempt, result = shop.charge_and_die(victim)
    intent = _intents_of(shop, victim)[attempt.key]

    def rival():  # the webhook records the success between the job's read and its write
        assert shop.post_event(intent, "payment_intent.succeeded").json == {"received": True}

    _race_after_read(monkeypatch, rival)
    with shop.app.app_context(), db.transaction() as session:
        assert settlement.finish_charge(session, attempt, result).status == "paid"
    assert _history(shop, victim)[-2:] == [("pledged", "charging"), ("charging", "paid")]


# Cards that fail when charged ---------------------------------------------------------------


def _confirm_with_failing_card(shop: Shop, payment_method: str) -> dict:
    """Three visa pledges and one with `payment_method`, which tips the trip; returns that
    pledge's creation answer."""
    for _ in range(3):
        shop.pledge_ok(seats=1)
    failing = shop.pledge_ok(seats=1, payment_method=payment_method)
    run_jobs(shop.app)
    return failing


FAILING_CARDS = {
    "pm_card_authenticationRequired": "authentication_required",
    "pm_card_chargeCustomerFail": "card_declined",
}


@pytest.mark.parametrize("payment_method", FAILING_CARDS)
def test_card_failing_at_charge_time_needs_action_then_a_fixed_card_pays(shop, payment_method):
    failing = _confirm_with_failing_card(shop, payment_method)
    pledge_id = failing["pledge"]["id"]
    assert failing["pledge"]["status"] == "action_required"
    assert failing["pledge"]["grace_expires_at"] is not None
    [declined] = [
        pi for pi in shop.fake.payment_intents.values() if pi["metadata"]["pledge_id"] == pledge_id
    ]
    assert declined["status"] == "requires_payment_method"
    assert declined["last_payment_error"]["code"] == FAILING_CARDS[payment_method]
    [pledge] = [p for p in shop.pledges() if p.id == pledge_id]
    assert pledge.payment_intent_ref == declined["id"] and pledge.last_payment_error

    token = failing["manage_url"].rsplit("/", 1)[-1]
    manage = f"{shop.base}/manage/{token}"
    assert shop.client.get(manage).json["can_update_card"] is True
    refused = shop.client.post(
        f"{manage}/payment_method", json={"payment_method": "pm_card_chargeDeclined"}
    )
    assert refused.status_code == 422 and "payment_method" in refused.json["errors"]
    fixed = shop.client.post(f"{manage}/payment_method", json={"payment_method": "pm_card_visa"})
    assert fixed.status_code == 200, fixed.json
    assert fixed.json["pledge"]["status"] == "paid"
    run_jobs(shop.app)
    assert set(shop.statuses().values()) == {"paid"}
    # The new card is a new attempt with a new key; the failed one charged nothing.
    assert_charged_exactly_once(shop, attempts={pledge_id: 2})
    assert shop.fake.total_captured() == 4 * UNIT_AMOUNT
    assert shop.trip().seats_pledged == 4


@pytest.mark.parametrize("payment_method", FAILING_CARDS)
def test_card_not_fixed_within_the_grace_period_is_dropped_and_frees_seats(shop, payment_method):
    pledge_id = _confirm_with_failing_card(shop, payment_method)["pledge"]["id"]
    assert shop.trip().seats_pledged == 4
    with shop.app.app_context():
        grace_ends = db.session.get(Pledge, pledge_id).grace_expires_at
        assert grace_ends - utcnow() > settlement.GRACE_PERIOD - timedelta(minutes=5)
        with db.transaction() as session:
            before = grace_ends - timedelta(minutes=1)
            assert not settlement.drop_if_grace_expired(session, pledge_id, now=before)
        with db.transaction() as session:
            after = grace_ends + timedelta(seconds=1)
            assert settlement.drop_if_grace_expired(session, pledge_id, now=after)
    run_jobs(shop.app)
    assert shop.statuses()[pledge_id] == "dropped"
    trip = shop.trip()
    assert trip.seats_pledged == 3 and trip.status == "confirmed"
    assert_charged_exactly_once(shop)  # the three visa pledges, and nothing for the dropped one
    assert shop.fake.total_captured() == 3 * UNIT_AMOUNT


# Trips that do not run ----------------------------------------------------------------------


def test_trip_that_misses_its_deadline_charges_nobody(shop):
    for seats in (1, 2):
        shop.pledge_ok(seats)
    trip = shop.trip()
    assert trip.status == "open"
    with shop.app.app_context(), db.transaction() as session:
        later = trip.pledge_deadline + timedelta(seconds=1)
        assert settlement.fail_trip_if_overdue(session, shop.trip_id, now=later)
    run_jobs(shop.app)
    shop.sweep()
    assert set(shop.statuses().values()) == {"released"}
    assert shop.trip().status == "failed" and shop.trip().seats_pledged == 0
    assert shop.fake.payment_intents == {}
    assert charge_requests(shop) == []
    assert shop.pledge().status_code == 409


def test_canceled_confirmed_trip_refunds_each_paid_pledge_once(shop):
    ids = confirm_with_three_pledges(shop)
    run_jobs(shop.app)
    assert set(shop.statuses().values()) == {"paid"}
    shop.fake.drop_next(1, "/v1/refunds")  # the library retries with the same key: a replay
    with shop.app.app_context(), db.transaction() as session:
        settlement.cancel_trip(session, db.session.get(Trip, shop.trip_id), actor="test")
    run_jobs(shop.app)
    shop.sweep()
    for pledge_id in ids:  # a duplicate refund job does nothing
        with shop.app.app_context():
            tasks.refund_pledge(pledge_id)
    pledges = shop.pledges()
    assert {pledge.status for pledge in pledges} == {"refunded"}
    refunds = shop.fake.refunds
    assert Counter(r["metadata"]["pledge_id"] for r in refunds.values()) == dict.fromkeys(ids, 1)
    assert {pledge.refund_ref for pledge in pledges} == set(refunds)
    refund_requests = [r for r in shop.fake.requests if r["path"] == "/v1/refunds"]
    for request in refund_requests:
        pledge_id = request["params"]["metadata"]["pledge_id"]
        assert request["idempotency_key"] == f"pledge-{pledge_id}-refund"
    assert any(r["replayed"] for r in refund_requests)
    assert shop.fake.total_refunded() == shop.fake.total_captured() == 4 * UNIT_AMOUNT
    assert shop.trip().status == "canceled" and shop.trip().seats_pledged == 0


# Stripe webhooks ----------------------------------------------------------------------------


def _intents_of(shop: Shop, pledge_id: str) -> dict[str, dict]:
    """The pledge's PaymentIntents at Stripe, by idempotency key."""
    return {
        pi["metadata"]["idempotency_key"]: pi
        for pi in shop.fake.payment_intents.values()
        if pi["metadata"]["pledge_id"] == pledge_id
    }


def _history(shop: Shop, pledge_id: str) -> list[tuple[str | None, str]]:
    with shop.app.app_context():
        return [
            (change.from_status, change.to_status)
            for change in db.session.scalars(
                select(PledgeStatusChange)
                .where(PledgeStatusChange.pledge_id == pledge_id)
                .order_by(PledgeStatusChange.id)
            )
        ]


def _events_recorded(shop: Shop) -> int:
    with shop.app.app_context():
        return db.session.scalar(select(func.count()).select_from(StripeEventRecord))


def test_webhook_with_a_bad_signature_is_a_400_problem(shop):
    ids = confirm_with_three_pledges(shop)
    victim = next(pid for pid, status in shop.statuses().items() if status == "pledged")
    with shop.app.app_context(), db.transaction() as session:
        settlement.begin_charge(session, victim)
    intent = {"id": "pi_forged", "object": "payment_intent", "status": "succeeded"}
    intent["metadata"] = {"pledge_id": victim, "idempotency_key": f"pledge-{victim}-charge-1"}
    event = shop.fake.event_for(intent, "payment_intent.succeeded")
    payload = json.dumps(event).encode()
    signed = sign_stripe_payload(payload, WEBHOOK_SECRET)
    attempts = {
        "wrong secret": (payload, sign_stripe_payload(payload, "whsec_wrong")),
        "no signature": (payload, None),
        "tampered payload": (payload.replace(b"pi_forged", b"pi_forgeX"), signed),
        "stale timestamp": (payload, sign_stripe_payload(payload, WEBHOOK_SECRET, 1_000_000)),
    }
    for why, (body, signature) in attempts.items():
        headers = {"Stripe-Signature": signature} if signature else {}
        response = shop.client.post(
            "/stripe/webhook", data=body, content_type="application/json", headers=headers
        )
        assert response.status_code == 400, why
        assert response.mimetype == "application/problem+json", why
        assert response.json["type"].endswith("/invalid-signature"), why
        assert response.json["status"] == 400 and response.json["request_id"], why
    assert _events_recorded(shop) == 0
    assert shop.statuses()[victim] == "charging"
    assert len(ids) == 3


def test_webhook_settles_a_pledge_whose_worker_died_after_stripe_charged(shop):
    """The charge job marked the pledge `charging` and Stripe charged the card, then the worker
    died before recording it: the webhook records it, and the sweep does not charge again."""
    ids = confirm_with_three_pledges(shop)
    pledged = [pledge_id for pledge_id, s in shop.statuses().items() if s == "pledged"]
    victim = pledged[0]
    attempt, result = shop.charge_and_die(victim)
    assert result.succeeded and attempt.key == f"pledge-{victim}-charge-1"
    assert shop.statuses()[victim] == "charging"  # ... and no finish_charge: the worker died

    intent = _intents_of(shop, victim)[attempt.key]
    response = shop.post_event(intent, "payment_intent.succeeded")
    assert response.status_code == 200 and response.json == {"received": True}
    assert shop.statuses()[victim] == "paid"
    [pledge] = [p for p in shop.pledges() if p.id == victim]
    assert pledge.payment_intent_ref == intent["id"] and pledge.paid_at is not None

    requests_before = len(charge_requests(shop))
    shop.age_charging_pledges()
    shop.sweep()  # charges the other pledged pledge of the confirmed trip, not the victim
    run_jobs(shop.app)  # charge_trip and the charge jobs: nothing left for the victim
    assert set(shop.statuses().values()) == {"paid"}
    victim_requests = [
        r for r in charge_requests(shop) if r["params"]["metadata"]["pledge_id"] == victim
    ]
    assert len(victim_requests) == 1
    assert len(charge_requests(shop)) == requests_before + len(pledged) - 1
    assert_charged_exactly_once(shop)
    assert len(ids) == len(shop.fake.succeeded_charges())


def test_duplicate_webhook_events_change_nothing(shop):
    confirm_with_three_pledges(shop)
    victim = next(pid for pid, status in shop.statuses().items() if status == "pledged")
    attempt, _ = shop.charge_and_die(victim)
    event = shop.fake.event_for(_intents_of(shop, victim)[attempt.key], "payment_intent.succeeded")
    assert post_event(shop.client, event).json == {"received": True}
    history = _history(shop, victim)
    for _ in range(2):
        again = post_event(shop.client, event)
        assert again.status_code == 200
        assert again.json == {"received": True, "duplicate": True}
    assert _history(shop, victim) == history
    assert history[-1] == ("charging", "paid")
    assert _events_recorded(shop) == 1


def test_stale_and_out_of_order_webhook_events_change_nothing(shop):
    failing = _confirm_with_failing_card(shop, "pm_card_chargeCustomerFail")
    pledge_id = failing["pledge"]["id"]
    first_key, second_key = (f"pledge-{pledge_id}-charge-{n}" for n in (1, 2))
    old_failure = _intents_of(shop, pledge_id)[first_key]

    # The fan gives a new card: attempt 2 is under way (charging), not yet answered.
    with shop.app.app_context(), db.transaction() as session:
        pledge = db.session.get(Pledge, pledge_id)
        attempt = settlement.replace_card(session, shop.provider(), pledge, "pm_card_visa")
    assert attempt.key == second_key and shop.statuses()[pledge_id] == "charging"
    # The first attempt's failure arrives late: it is about another attempt, so it is ignored.
    assert shop.post_event(old_failure, "payment_intent.payment_failed").status_code == 200
    assert shop.statuses()[pledge_id] == "charging"

    assert shop.charge_job(pledge_id) == "paid"
    history = _history(shop, pledge_id)
    [pledge] = [p for p in shop.pledges() if p.id == pledge_id]
    success = _intents_of(shop, pledge_id)[second_key]
    assert pledge.payment_intent_ref == success["id"]
    # After success: the old failure again (new event id), and the success, change nothing.
    for obj, event_type in (
        (old_failure, "payment_intent.payment_failed"),
        (success, "payment_intent.succeeded"),
        (success, "payment_intent.payment_failed"),
    ):
        response = shop.post_event(obj, event_type)
        assert response.status_code == 200 and response.json == {"received": True}
    assert _history(shop, pledge_id) == history
    [after] = [p for p in shop.pledges() if p.id == pledge_id]
    assert (after.status, after.paid_at, after.payment_intent_ref) == (
        "paid",
        pledge.paid_at,
        success["id"],
    )
    assert _events_recorded(shop) == 4
    assert_charged_exactly_once(shop, attempts={pledge_id: 2})
