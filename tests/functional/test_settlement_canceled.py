"""A charge on a canceled trip ends, and never charges: a `charging` pledge whose trip was
canceled is not charged again; the provider is only asked what became of the attempt already
sent (against the fake Stripe)."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.functional import stripe_helpers
from tests.functional.stripe_helpers import PAYMENT_INTENTS, charge_requests
from tests.functional.test_money_path import _age, _pledge
from tests.tripday.helpers import fan_request
from widget_server.domain.pledges import charge_claims, claims, recording, trip_outcomes
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import AuditLogEntry, Pledge, SimulatedPayment, Trip

fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop


def _cancel(shop) -> None:
    with shop.app.app_context(), db.transaction() as session:
        trip_outcomes.cancel_trip(session, session.get(Trip, shop.trip_id), actor="partner")


def _charges_of(shop, pledge_id: str) -> list[dict]:
    return [r for r in charge_requests(shop) if r["params"]["metadata"]["pledge_id"] == pledge_id]


def _tipping_charge_fails(shop, fault) -> str:
    """Two pledges, then the tipping one, whose charge in the request fails temporarily
    (`fault()` arranges how)."""
    shop.pledge_ok(seats=1)
    shop.pledge_ok(seats=1)
    fault()
    tipping = shop.pledge_ok(seats=2)["pledge"]["id"]
    assert _pledge(shop, tipping).status == "charging"
    return tipping


def test_a_charging_pledge_on_a_canceled_trip_is_released_without_a_charge(shop):
    tipping = _tipping_charge_fails(
        shop, lambda: shop.fake.fail_next(1, 503, PAYMENT_INTENTS, should_retry=False)
    )
    sent = len(_charges_of(shop, tipping))
    _cancel(shop)
    _age(shop)
    assert shop.charge_job(tipping) == "released"
    pledge = _pledge(shop, tipping)
    assert pledge.status == "released" and pledge.claim_expires_at is None
    assert len(_charges_of(shop, tipping)) == sent  # the key was never sent again
    assert not [
        pi for pi in shop.fake.succeeded_charges() if pi["metadata"]["pledge_id"] == tipping
    ]
    _age(shop)
    shop.sweep()  # nothing is left to do for it
    assert _pledge(shop, tipping).status == "released"
    assert len(_charges_of(shop, tipping)) == sent


def test_a_charge_that_reached_stripe_before_the_cancel_is_refunded(shop):
    # Stripe performs the charge but every answer (the library's retries too) is lost.
    tipping = _tipping_charge_fails(shop, lambda: shop.fake.drop_next(3, PAYMENT_INTENTS))
    sent = len(_charges_of(shop, tipping))
    _cancel(shop)
    _age(shop)
    assert shop.charge_job(tipping) == "paid"  # found at Stripe, not charged again
    run_jobs(shop.app)
    assert _pledge(shop, tipping).status == "refunded"
    assert len(_charges_of(shop, tipping)) == sent
    customer = _pledge(shop, tipping).payment_customer_ref
    charged = shop.fake.total_captured(customer)
    assert charged > 0 and shop.fake.total_refunded(customer) == charged


def test_a_charge_on_a_canceled_trip_ends_when_stripe_stays_down(shop):
    tipping = _tipping_charge_fails(
        shop, lambda: shop.fake.fail_next(1000, 503, PAYMENT_INTENTS, should_retry=False)
    )
    _cancel(shop)
    for _ in range(claims.MAX_TEMPORARY_FAILURES + 2):
        _age(shop)
        shop.charge_job(tipping)
    pledge = _pledge(shop, tipping)
    assert pledge.status == "released" and pledge.last_payment_error
    with shop.app.app_context():
        actions = list(
            db.session.scalars(
                select(AuditLogEntry.action).where(AuditLogEntry.object_id == tipping)
            )
        )
    assert "pledge.charge_outcome_unknown" in actions


def test_simulated_provider_looks_the_attempt_up_too(app):
    """The simulated ledger answers `find_charge` by key: a worker that died after claiming (no
    charge made) leaves a pledge that the cancel then ends without any ledger row."""

    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=10, min_riders=1)
        pledge = recording.create_pledge(
            session, provider, partner, trip.id, fan_request(trip, "Ana Fan")
        )
        ids = {"trip": trip.id, "pledge": pledge.id}
    with app.app_context():
        with db.transaction() as session:
            assert charge_claims.begin_charge(session, ids["pledge"]) is not None  # then dies
        with db.transaction() as session:
            trip_outcomes.cancel_trip(session, session.get(Trip, ids["trip"]), actor="partner")
        with db.transaction() as session:
            session.get(Pledge, ids["pledge"]).claim_expires_at = None  # the lease ran out
        assert tasks.charge_pledge(ids["pledge"]) == "released"
        assert db.session.scalars(select(SimulatedPayment)).all() == []
        assert db.session.get(Pledge, ids["pledge"], populate_existing=True).status == "released"
