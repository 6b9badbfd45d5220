"""Shared by the Stripe tests (and test_worker_crash): a Stripe-backed app against the fake
Stripe server, the `fake_stripe`, `make_shop` and `shop` fixtures, and the checks on what
Stripe shows."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
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
from widget_server.domain.pledges import charge_claims
from widget_server.domain.pledges.charge_claims import ChargeAttempt
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Pledge, PledgeStatusChange, StripeEventRecord, Trip
from widget_server.models.types import utcnow
from widget_server.payments import ChargeResult
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
                attempt = charge_claims.begin_charge(session, pledge_id)
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
        """What time passing does: claims of `charging` pledges expire (as a dead job's do)
        and their backoff after a temporary failure is over."""
        past = utcnow() - timedelta(seconds=1)
        with self.app.app_context(), db.transaction() as session:
            session.execute(
                update(Pledge)
                .where(Pledge.status.in_(("charging", "paid")))
                .values(claim_expires_at=past, retry_at=past)
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


def _confirm_with_failing_card(shop: Shop, payment_method: str) -> dict:
    """Three visa pledges and one with `payment_method`, which tips the trip; returns that
    pledge's creation answer."""
    for _ in range(3):
        shop.pledge_ok(seats=1)
    failing = shop.pledge_ok(seats=1, payment_method=payment_method)
    run_jobs(shop.app)
    return failing


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
