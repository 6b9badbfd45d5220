"""A card failing after the trip confirmed (domain/pledges/card_recovery.py): the saved card is
retried on a schedule inside the grace period, the fan reminded once before it closes, and at
the close the pledge is dropped, its seats offered to the waitlist and the partner told when
the running trip falls below its threshold. Against the fake Stripe server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.conftest import run_jobs
from tests.functional import stripe_helpers
from tests.functional.stripe_helpers import charge_requests
from tests.functional.webhook_helpers import add_endpoint
from widget_server.domain.pledges.card_recovery import CARD_RETRY_DELAYS, REMINDER_BEFORE
from widget_server.extensions import db
from widget_server.models import (
    OutboundEmail,
    Partner,
    Pledge,
    Trip,
    WaitlistEntry,
    WebhookMessage,
)
from widget_server.models.types import utcnow

fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop


def _sold_out_with_a_failing_card(shop, card: str) -> str:
    """Capacity 5, confirms at 5: a 3-seat visa pledge, then a 2-seat pledge whose card saves
    but fails off-session, which confirms the trip and sells it out. Returns that pledge."""
    with shop.app.app_context(), db.transaction() as session:
        session.execute(
            update(Trip).where(Trip.id == shop.trip_id).values(capacity=5, min_riders=5)
        )
        partner_id = session.scalar(select(Partner.id).where(Partner.slug == shop.partner))
    add_endpoint(shop.app, partner_id, "http://127.0.0.1:9/hook")  # the partner listens
    shop.pledge_ok(seats=3)
    failing = shop.pledge_ok(seats=2, payment_method=card)["pledge"]["id"]
    assert shop.trip().status == "confirmed"
    run_jobs(shop.app)
    return failing


def _pledge(shop, pledge_id: str) -> Pledge:
    with shop.app.app_context():
        return db.session.get(Pledge, pledge_id)


def _set(shop, pledge_id: str, **values) -> None:
    """Time passing, for one pledge: its retry or grace deadline moved to `values`."""
    with shop.app.app_context(), db.transaction() as session:
        session.execute(update(Pledge).where(Pledge.id == pledge_id).values(**values))


def _emails(shop, pledge_id: str) -> list[str]:
    with shop.app.app_context():
        query = select(OutboundEmail.kind).where(OutboundEmail.pledge_id == pledge_id)
        return list(db.session.scalars(query.order_by(OutboundEmail.created_at)))


def _keys(shop, pledge_id: str) -> list[str]:
    return [
        r["idempotency_key"]
        for r in charge_requests(shop)
        if r["params"]["metadata"]["pledge_id"] == pledge_id
    ]


def _webhook_types(shop) -> list[str]:
    with shop.app.app_context():
        return list(db.session.scalars(select(WebhookMessage.type)))


def test_a_declined_card_is_retried_reminded_then_dropped_and_its_seats_go_to_the_waitlist(shop):
    failing = _sold_out_with_a_failing_card(shop, "pm_card_chargeCustomerFail")
    joined = shop.client.post(
        f"{shop.base}/trips/{shop.trip_id}/waitlist",
        json={"stop_id": shop.stop_id, "seats": 2, "name": "Lee", "email": "lee@example.com"},
    )
    assert joined.status_code == 201, joined.json
    pledge = _pledge(shop, failing)
    assert pledge.status == "action_required" and pledge.card_retries == 0
    failed_at = pledge.grace_expires_at - timedelta(hours=48)
    assert pledge.card_retry_at == failed_at + CARD_RETRY_DELAYS[0]
    assert _emails(shop, failing).count("action_required") == 1
    assert shop.sweep().get("card_retries", 0) == 0  # not due yet

    # Each retry, when due, charges the same saved card under a new attempt's key.
    for retry in range(1, len(CARD_RETRY_DELAYS) + 1):
        _set(shop, failing, card_retry_at=utcnow() - timedelta(seconds=1))
        before = utcnow()
        report = shop.sweep()
        assert report["card_retries_action_required"] == 1
        pledge = _pledge(shop, failing)
        assert (pledge.status, pledge.card_retries) == ("action_required", retry)
        assert _keys(shop, failing)[-1] == f"pledge-{failing}-charge-{retry + 1}"
        if retry < len(CARD_RETRY_DELAYS):  # the next one, timed from this failure
            assert before + CARD_RETRY_DELAYS[retry] <= pledge.card_retry_at
            assert pledge.card_retry_at <= utcnow() + CARD_RETRY_DELAYS[retry]
    assert pledge.card_retry_at is None  # no retry left
    assert _emails(shop, failing).count("action_required") == 1  # retries' failures not emailed

    # Reminded once, REMINDER_BEFORE the end, in the fan's language.
    _set(shop, failing, grace_expires_at=utcnow() + REMINDER_BEFORE - timedelta(minutes=1))
    assert shop.sweep()["card_reminders"] == 1
    assert shop.sweep().get("card_reminders", 0) == 0
    assert _emails(shop, failing).count("card_reminder") == 1

    # The end: dropped, seats to the waitlist, the partner told the trip is below threshold.
    _set(shop, failing, grace_expires_at=utcnow() - timedelta(seconds=1))
    assert shop.sweep()["dropped_pledges"] == 1
    run_jobs(shop.app)
    trip = shop.trip()
    assert (trip.status, trip.seats_pledged) == ("confirmed", 3)  # it still runs
    assert _pledge(shop, failing).status == "dropped"
    assert _webhook_types(shop).count("trip.below_threshold") == 1
    with shop.app.app_context():
        entry = db.session.scalar(select(WaitlistEntry))
    assert entry.status == "offered"
    assert len(shop.fake.succeeded_charges()) == 1  # only the visa pledge was ever charged


def test_a_retry_the_bank_accepts_charges_the_pledge_once(shop):
    failing = _sold_out_with_a_failing_card(shop, "pm_card_chargeCustomerFail")
    pledge = _pledge(shop, failing)
    shop.fake.set_charge_outcome(pledge.payment_method_ref, "succeed")  # the bank relents
    _set(shop, failing, card_retry_at=utcnow() - timedelta(seconds=1))
    assert shop.sweep()["card_retries_paid"] == 1
    assert shop.sweep().get("card_retries", 0) == 0
    pledge = _pledge(shop, failing)
    assert pledge.status == "paid"
    paid = [pi for pi in shop.fake.succeeded_charges() if pi["metadata"]["pledge_id"] == failing]
    assert [pi["metadata"]["idempotency_key"] for pi in paid] == [f"pledge-{failing}-charge-2"]
    assert paid[0]["amount_received"] == pledge.amount
    assert "pledge_paid" in _emails(shop, failing)
    assert "trip.below_threshold" not in _webhook_types(shop)


def test_a_card_that_needs_the_fan_to_authenticate_is_not_retried_but_reminded(shop):
    failing = _sold_out_with_a_failing_card(shop, "pm_card_authenticationRequired")
    pledge = _pledge(shop, failing)
    assert pledge.status == "action_required" and pledge.card_retry_at is None
    tries = len(_keys(shop, failing))
    _set(shop, failing, grace_expires_at=utcnow() + timedelta(minutes=5))
    report = shop.sweep()
    assert report["card_reminders"] == 1 and report.get("card_retries", 0) == 0
    assert len(_keys(shop, failing)) == tries
