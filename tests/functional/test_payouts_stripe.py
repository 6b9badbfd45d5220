"""Paying operators with `PAYMENTS_PROVIDER=stripe` against the fake Stripe: one transfer per
completed trip under `payout-<id>-transfer`, whether the job runs twice, the answer is lost or
the worker dies between the transfer and its record; an account that cannot take transfers
yet makes the payout wait without using up its key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.conftest import empty_all_tables, run_jobs
from tests.functional import stripe_helpers
from tests.functional.payout_helpers import (
    QUOTE_AMOUNT,
    complete,
    make_awarded_trip,
    make_operator,
    payouts,
)
from widget_server import services
from widget_server.domain.operators import connect
from widget_server.domain.operators import payouts as payout_rules
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Operator, Payout
from widget_server.models.types import utcnow

fake_stripe = stripe_helpers.fake_stripe
TRANSFERS = "/v1/transfers"


@pytest.fixture
def stripe_app(database_url, migrated_engine, tmp_path, fake_stripe):
    app = stripe_helpers.stripe_app(database_url, tmp_path / "instance", fake_stripe)
    yield app
    stripe_helpers.close_app(app)
    empty_all_tables(migrated_engine)


def owe_one_payout(app, fake, *, onboarded: bool = True) -> str:
    """A completed trip of an operator with a (fake) Stripe Express account: its payout id."""
    provider = app.extensions["ridepledge.payments"]
    account = provider.create_connected_account(
        operator_id="op_x", email="dispatch@prairie.example", key="operator-op_x-account"
    )
    if onboarded:
        fake.complete_onboarding(account)
    with app.app_context(), db.transaction() as session:
        complete(
            session, make_awarded_trip(session, make_operator(session, stripe_account_id=account))
        )
        return payouts(session)[0].id


def expire_claims(app) -> None:
    """Time passing: a dead worker's claim has expired and any wait is over."""
    past = utcnow() - timedelta(seconds=1)
    with app.app_context(), db.transaction() as session:
        session.execute(update(Payout).values(claim_expires_at=past, retry_at=past))


def assert_paid_once(app, fake, payout_id: str) -> None:
    [transfer] = fake.transfers.values()
    assert transfer["amount"] == QUOTE_AMOUNT and transfer["currency"] == "usd"
    assert transfer["metadata"]["payout_id"] == payout_id
    keys = {r["idempotency_key"] for r in fake.requests if r["path"] == TRANSFERS}
    assert keys == {f"payout-{payout_id}-transfer"}
    with app.app_context():
        [payout] = payouts(db.session)
    assert (payout.status, payout.transfer_id) == ("paid", transfer["id"])


def test_the_job_twice_and_the_sweep_make_one_transfer(stripe_app, fake_stripe):
    payout_id = owe_one_payout(stripe_app, fake_stripe)
    assert run_jobs(stripe_app).count("pay_operator") == 1
    with stripe_app.app_context():
        assert tasks.pay_operator(payout_id) == "skipped"
        expire_claims(stripe_app)
        assert tasks.sweep().get("payouts_paid", 0) == 0
    assert_paid_once(stripe_app, fake_stripe, payout_id)


def test_a_lost_answer_is_recovered_without_a_second_transfer(stripe_app, fake_stripe):
    payout_id = owe_one_payout(stripe_app, fake_stripe)
    fake_stripe.drop_next(path=TRANSFERS)  # Stripe transfers, the answer never comes back
    run_jobs(stripe_app)
    assert_paid_once(stripe_app, fake_stripe, payout_id)
    replayed = [r["replayed"] for r in fake_stripe.requests if r["path"] == TRANSFERS]
    assert replayed == [False, True]


def test_a_worker_dying_between_transfer_and_record_is_healed_by_the_sweep(stripe_app, fake_stripe):
    payout_id = owe_one_payout(stripe_app, fake_stripe)
    with stripe_app.app_context():
        with db.transaction() as session:
            attempt, _ = payout_rules.begin_payout(session, payout_id)
        services.payments().provider.transfer(
            amount=attempt.amount,
            currency=attempt.currency,
            destination=attempt.destination,
            idempotency_key=attempt.key,
            metadata={"payout_id": attempt.payout_id, "trip_id": attempt.trip_id},
        )  # ... and the worker dies here: no record
        assert tasks.sweep().get("payouts_paid", 0) == 0  # the dead worker's claim still holds
        assert tasks.pay_operator(payout_id) == "skipped"
        assert payouts(db.session)[0].status == "pending"
        expire_claims(stripe_app)
        assert tasks.sweep()["payouts_paid"] == 1
    assert_paid_once(stripe_app, fake_stripe, payout_id)


def test_an_account_not_onboarded_waits_then_is_paid(stripe_app, fake_stripe):
    payout_id = owe_one_payout(stripe_app, fake_stripe, onboarded=False)
    with stripe_app.app_context():
        assert tasks.pay_operator(payout_id) == "waiting"
        assert tasks.sweep().get("payouts_waiting", 0) == 0  # waits an hour
        assert not any(r["path"] == TRANSFERS for r in fake_stripe.requests)
        [account] = fake_stripe.accounts
        fake_stripe.complete_onboarding(account)
        expire_claims(stripe_app)
        assert tasks.sweep()["payouts_paid"] == 1
    assert_paid_once(stripe_app, fake_stripe, payout_id)


def test_temporary_failures_retry_with_the_same_key(stripe_app, fake_stripe):
    payout_id = owe_one_payout(stripe_app, fake_stripe)
    fake_stripe.fail_next(3, status=500, path=TRANSFERS)  # every try of the library's
    with stripe_app.app_context():
        assert tasks.pay_operator(payout_id) == "retry"
        [payout] = payouts(db.session)
        assert payout.status == "pending" and "unknown error" in payout.last_error
        assert payout.retry_at > utcnow()
        expire_claims(stripe_app)
        assert tasks.pay_operator(payout_id) == "paid"
    assert_paid_once(stripe_app, fake_stripe, payout_id)


def test_a_refused_transfer_fails_the_payout_for_the_staff(stripe_app, fake_stripe):
    payout_id = owe_one_payout(stripe_app, fake_stripe)
    fake_stripe.fail_next(1, status=400, path=TRANSFERS)  # invalid_request: never retried
    with stripe_app.app_context():
        assert tasks.pay_operator(payout_id) == "failed"
        [payout] = payouts(db.session)
        assert payout.status == "failed" and payout.last_error
        assert tasks.pay_operator(payout_id) == "skipped"
        assert tasks.sweep().get("payouts_paid", 0) == 0
    assert fake_stripe.transfers == {}


def test_connecting_with_stripe_makes_one_express_account_and_wakes_waiting_payouts(
    stripe_app, fake_stripe
):
    with stripe_app.app_context(), db.transaction() as session:
        operator = make_operator(session, stripe_account_id=None)
        complete(session, make_awarded_trip(session, operator))
        operator_id = operator.id
    run_jobs(stripe_app)  # the payout waits: no account
    portal = "https://rides.example.com/operator/payouts"
    with stripe_app.app_context():
        context = services.payments()
        links = [
            connect.onboarding_link(
                context,
                operator_id,
                email="dispatch@prairie.example",
                return_url=portal + "/connected",
                refresh_url=portal + "/connect",
                actor="admin:1",
            )  # fmt: skip
            for _ in range(2)
        ]
        [account] = fake_stripe.accounts
        assert db.session.get(Operator, operator_id).stripe_account_id == account
        assert [link["url"] for link in fake_stripe.account_links] == links
        assert {link["return_url"] for link in fake_stripe.account_links} == {portal + "/connected"}
        assert not connect.returned_from_onboarding(context, operator_id)  # not finished yet
        fake_stripe.complete_onboarding(account)
        assert connect.returned_from_onboarding(context, operator_id)
    assert run_jobs(stripe_app).count("pay_operator") == 1
    assert_paid_once(stripe_app, fake_stripe, payouts_of(stripe_app)[0].id)


def payouts_of(app) -> list[Payout]:
    with app.app_context():
        return payouts(db.session)
