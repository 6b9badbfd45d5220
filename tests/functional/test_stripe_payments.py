"""The pledge engine with `PAYMENTS_PROVIDER=stripe`: the real `stripe` library talks over HTTP
to the fake Stripe server, which keeps Stripe's idempotency rules and can fail, stall or drop
connections on demand. What we assert is what Stripe would show: one succeeded PaymentIntent per
pledge, under the pledge's own idempotency key, whatever went wrong on the way.

This module: saving the card, charging, failing cards, trips that do not run."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.conftest import run_jobs
from tests.functional import stripe_helpers
from tests.functional.stripe_helpers import (
    LIBRARY_TRIES,
    PAYMENT_INTENTS,
    UNIT_AMOUNT,
    _confirm_with_failing_card,
    _history,
    _intents_of,
    assert_charged_exactly_once,
    assert_every_charge_request_used_its_pledge_key,
    charge_requests,
    confirm_with_three_pledges,
)
from widget_server.domain.pledges import charge_claims, trip_outcomes
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Pledge, Trip
from widget_server.models.types import utcnow

# The fixtures of stripe_helpers, made visible to this module's tests.
fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop


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
        assert shop.charge_job(pledge_id) == "skipped"
    assert shop.sweep()["charges"] == 0
    assert len(charge_requests(shop)) == 3
    # Seats bought after confirmation are charged at once.
    late = shop.pledge_ok(seats=3)
    assert late["pledge"]["status"] == "paid"
    run_jobs(shop.app)
    assert_charged_exactly_once(shop)
    assert shop.fake.total_captured() == 7 * UNIT_AMOUNT


# The client's read timeout in the fault tests; delayed answers take four times as long. A
# request the fake answers at once stays well inside it on a loaded machine (0.4 s was tight).
READ_TIMEOUT = 1.5

FAULTS = {
    "server_error": lambda fake: fake.fail_next(LIBRARY_TRIES, 500, PAYMENT_INTENTS),
    "timeout": lambda fake: fake.delay_next(LIBRARY_TRIES, READ_TIMEOUT * 4, PAYMENT_INTENTS),
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
    shop = make_shop(read_timeout=READ_TIMEOUT)
    FAULTS[fault](shop.fake)
    ids = confirm_with_three_pledges(shop)  # the tipping pledge's charge meets every fault
    run_jobs(shop.app)
    shop.fake.wait_idle(timeout=30)  # a timed-out request still completes at Stripe
    statuses = shop.statuses()
    assert sorted(statuses.values()) == ["charging", "paid", "paid"]
    [stuck] = [pledge_id for pledge_id in ids if statuses[pledge_id] == "charging"]
    charged_at_stripe = [pi["metadata"]["pledge_id"] for pi in shop.fake.succeeded_charges()]
    if fault == "server_error":  # Stripe never did it
        assert stuck not in charged_at_stripe
    else:  # Stripe charged the card, but we never heard the answer
        assert stuck in charged_at_stripe

    # The failure was recorded as temporary: the next try waits for its backoff.
    assert shop.charge_job(stuck) == "skipped"
    assert shop.sweep()["charges"] == 0
    shop.age_charging_pledges()
    if recovery == "job_retry":  # the queued job's next run
        assert shop.charge_job(stuck) == "paid"
    else:  # the job was lost; the sweep finds the pledge once its retry is due
        assert shop.sweep()["charges_paid"] == 1
    assert set(shop.statuses().values()) == {"paid"}
    assert_charged_exactly_once(shop)
    assert_every_charge_request_used_its_pledge_key(shop)
    stuck_requests = [
        r for r in charge_requests(shop) if r["params"]["metadata"]["pledge_id"] == stuck
    ]
    # The recovery resent the same request: Stripe replayed its first answer when it had one.
    assert stuck_requests[-1]["replayed"] is (fault != "server_error")


def test_a_429_while_charging_is_retried_at_once_with_the_same_key(shop):
    """Stripe's rate limit (another client of the account, a request delayed on the way): the
    charge is sent again within the same job, through a new pacing slot, not left for a later
    retry; a 429 on every try is a temporary failure like any other."""
    shop.fake.fail_next(LIBRARY_TRIES - 1, 429, PAYMENT_INTENTS)
    tipping = confirm_with_three_pledges(shop)[-1]
    assert shop.statuses()[tipping] == "paid"  # charged in its own request, 429s and all
    tipping_requests = [
        r for r in charge_requests(shop) if r["params"]["metadata"]["pledge_id"] == tipping
    ]
    assert [r["status"] for r in tipping_requests] == [429] * (LIBRARY_TRIES - 1) + [200]
    assert {r["idempotency_key"] for r in tipping_requests} == {f"pledge-{tipping}-charge-1"}

    shop.fake.fail_next(LIBRARY_TRIES, 429, PAYMENT_INTENTS)
    run_jobs(shop.app)  # one of the other two meets a 429 on every try
    assert sorted(shop.statuses().values()) == ["charging", "paid", "paid"]
    shop.age_charging_pledges()
    shop.sweep()
    assert set(shop.statuses().values()) == {"paid"}
    assert_charged_exactly_once(shop)
    assert_every_charge_request_used_its_pledge_key(shop)


def test_faults_spanning_several_charges_still_charge_each_pledge_once(make_shop):
    shop = make_shop(read_timeout=READ_TIMEOUT)
    ids = [shop.pledge_ok(seats)["pledge"]["id"] for seats in (1, 1, 1)]
    shop.fake.fail_next(2, 502, PAYMENT_INTENTS)
    shop.fake.drop_next(4, PAYMENT_INTENTS)
    shop.fake.delay_next(2, READ_TIMEOUT * 4, PAYMENT_INTENTS)
    ids.append(shop.pledge_ok(seats=1)["pledge"]["id"])  # tips the trip
    run_jobs(shop.app)  # temporary failures are recorded, not raised
    shop.fake.wait_idle(timeout=30)
    for _ in range(5):  # each sweep after the backoff retries what is left
        shop.age_charging_pledges()
        if shop.sweep()["charges"] == 0:
            break
    assert shop.statuses() == dict.fromkeys(ids, "paid")
    assert_charged_exactly_once(shop)
    assert_every_charge_request_used_its_pledge_key(shop)


def _race_after_read(monkeypatch, rival) -> None:
    """Make the next `charge_claims.load_pledge` read run `rival()` (another job, the sweep, the
    webhook) to its end right after it, before the reader writes anything. The rival runs in
    its own thread, hence its own app context and database session, like another worker."""
    read = charge_claims.load_pledge

    def read_then_race(session, pledge_id):
        pledge = read(session, pledge_id)
        monkeypatch.setattr(charge_claims, "load_pledge", read)
        with ThreadPoolExecutor(max_workers=1) as other_worker:
            other_worker.submit(rival).result()
        return pledge

    monkeypatch.setattr(charge_claims, "load_pledge", read_then_race)


def test_two_jobs_beginning_the_same_charge_at_once_begin_it_once(shop, monkeypatch):
    confirm_with_three_pledges(shop)
    victim = next(pid for pid, status in shop.statuses().items() if status == "pledged")

    def rival():
        with shop.app.app_context(), db.transaction() as session:
            assert charge_claims.begin_charge(session, victim).attempt == 1

    _race_after_read(monkeypatch, rival)
    with shop.app.app_context(), db.transaction() as session:
        assert charge_claims.begin_charge(session, victim) is None  # the rival owns this charge
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
        assert charge_claims.finish_charge(session, attempt, result).status == "paid"
    assert _history(shop, victim)[-2:] == [("pledged", "charging"), ("charging", "paid")]


# Cards that fail when charged ---------------------------------------------------------------


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
        assert grace_ends - utcnow() > charge_claims.GRACE_PERIOD - timedelta(minutes=5)
        with db.transaction() as session:
            before = grace_ends - timedelta(minutes=1)
            assert not trip_outcomes.drop_if_grace_expired(session, pledge_id, now=before)
        with db.transaction() as session:
            after = grace_ends + timedelta(seconds=1)
            assert trip_outcomes.drop_if_grace_expired(session, pledge_id, now=after)
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
        assert trip_outcomes.fail_trip_if_overdue(session, shop.trip_id, now=later)
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
        trip_outcomes.cancel_trip(session, db.session.get(Trip, shop.trip_id), actor="test")
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
