"""The pledge engine with `PAYMENTS_PROVIDER=stripe`: the real `stripe` library talks over HTTP
to the fake Stripe server, which keeps Stripe's idempotency rules and can fail, stall or drop
connections on demand. What we assert is what Stripe would show: one succeeded PaymentIntent per
pledge, under the pledge's own idempotency key, whatever went wrong on the way.

This module: Stripe's webhooks (signatures, late and duplicate events)."""

from __future__ import annotations

import json

from tests.conftest import run_jobs
from tests.fakes.stripe_server import sign_stripe_payload
from tests.functional import stripe_helpers
from tests.functional.stripe_helpers import (
    WEBHOOK_SECRET,
    _confirm_with_failing_card,
    _events_recorded,
    _history,
    _intents_of,
    assert_charged_exactly_once,
    charge_requests,
    confirm_with_three_pledges,
    post_event,
)
from widget_server.domain.pledges import charge_claims, planning
from widget_server.extensions import db

# The fixtures of stripe_helpers, made visible to this module's tests.
fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop


# Stripe webhooks ----------------------------------------------------------------------------


def test_webhook_with_a_bad_signature_is_a_400_problem(shop):
    ids = confirm_with_three_pledges(shop)
    victim = next(pid for pid, status in shop.statuses().items() if status == "pledged")
    with shop.app.app_context(), db.transaction() as session:
        charge_claims.begin_charge(session, victim)
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
    with shop.app.app_context():
        with db.transaction() as session:
            plan = charge_claims.plan_card_replacement(session, pledge_id, "pm_card_visa")
        card = planning.save_card(shop.provider(), plan.setup)
        with db.transaction() as session:
            attempt = charge_claims.start_new_card_attempt(session, plan, card)
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
