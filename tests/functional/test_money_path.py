"""The money path against the fake Stripe: a worker lagging past kick-off, many callers charging
one pledge at once, each class of provider error, and a queue that is down after a commit."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import redis as redis_client
import requests
import stripe
from sqlalchemy import func, select, update

from tests.conftest import LiveServer, empty_all_tables, make_settings, run_jobs
from tests.factories import make_partner, make_trip
from tests.functional import stripe_helpers
from tests.functional.stripe_helpers import (
    PAYMENT_INTENTS,
    UNIT_AMOUNT,
    _confirm_with_failing_card,
    assert_charged_exactly_once,
    charge_requests,
    confirm_with_three_pledges,
)
from tests.functional.webhook_helpers import add_endpoint
from tests.services import require
from widget_server import create_app
from widget_server.domain.pledges import claims, transitions, trip_outcomes
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import (
    AuditLogEntry,
    Event,
    OutboundEmail,
    Partner,
    Pledge,
    SimulatedPayment,
    Trip,
)
from widget_server.models.types import utcnow

# The fixtures of stripe_helpers, made visible to this module's tests.
fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop


def _pledge(shop, pledge_id: str) -> Pledge:
    with shop.app.app_context():
        return db.session.get(Pledge, pledge_id)


def _kick_off(shop) -> None:
    """The event starts (its stops departed before)."""
    with shop.app.app_context(), db.transaction() as session:
        trip = session.get(Trip, shop.trip_id)
        session.get(Event, trip.event_id).starts_at = utcnow() - timedelta(minutes=1)


# A worker down over kick-off -------------------------------------------------------------------


def test_worker_down_over_kickoff_still_charges_every_pledge_once(shop):
    # The tipping pledge's own request charges it; the other charges wait for the worker,
    # which is down: its jobs are never run.
    ids = confirm_with_three_pledges(shop)
    card_fails = shop.pledge_ok(seats=1, payment_method="pm_card_chargeCustomerFail")
    _kick_off(shop)
    report = shop.sweep()  # the worker is back after kick-off: its periodic sweep runs
    statuses = shop.statuses()
    assert [statuses[pledge_id] for pledge_id in ids] == ["paid"] * 3
    assert statuses[card_fails["pledge"]["id"]] == "action_required"  # the card-fix path
    assert shop.trip().status == "completed"
    assert report["charges_paid"] == 2 and report["completed_trips"] == 1
    assert report["charges"] == 2  # the failing card was charged (and declined) in its request
    assert_charged_exactly_once(shop)
    # The dead worker's jobs, run at last, find nothing to do; nor does another sweep.
    requests_before = len(charge_requests(shop))
    run_jobs(shop.app)
    assert shop.sweep()["charges"] == 0
    assert len(charge_requests(shop)) == requests_before


def test_a_trip_completed_before_its_charges_ran_is_still_charged(shop):
    ids = confirm_with_three_pledges(shop)
    _kick_off(shop)
    with shop.app.app_context(), db.transaction() as session:  # completion won the race
        assert trip_outcomes.complete_trip_if_done(session, shop.trip_id)
    assert shop.trip().status == "completed"
    run_jobs(shop.app)  # the charge jobs, late
    assert set(shop.statuses().values()) == {"paid"} and len(ids) == 3
    assert_charged_exactly_once(shop)


# Many callers, one pledge ---------------------------------------------------------------------


def test_twenty_concurrent_chargers_make_one_provider_charge(shop):
    ids = confirm_with_three_pledges(shop)
    victim = next(pid for pid, status in shop.statuses().items() if status == "pledged")
    shop.fake.processing_seconds = 0.3  # Stripe takes a while: the callers overlap
    start = Barrier(20)

    def charge() -> str:
        start.wait(timeout=10)
        with shop.app.app_context():
            return tasks.charge_pledge(victim)

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = [future.result() for future in [pool.submit(charge) for _ in range(20)]]
    assert sorted(outcomes) == ["paid"] + ["skipped"] * 19
    mine = [r for r in charge_requests(shop) if r["params"]["metadata"]["pledge_id"] == victim]
    assert len(mine) == 1 and mine[0]["status"] == 200
    assert all(r["status"] != 409 for r in shop.fake.requests)
    run_jobs(shop.app)
    assert shop.statuses() == dict.fromkeys(ids, "paid")
    assert_charged_exactly_once(shop)


def test_twenty_concurrent_card_updates_charge_once_and_never_answer_500(shop):
    failing = _confirm_with_failing_card(shop, "pm_card_chargeCustomerFail")
    pledge_id = failing["pledge"]["id"]
    shop.fake.processing_seconds = 0.2
    server = LiveServer(shop.app).start()
    token = failing["manage_url"].rstrip("/").rsplit("/", 1)[-1]
    url = f"{server.url}/w/{shop.partner}/api/manage/{token}/payment_method"
    start = Barrier(20)

    def update_card() -> int:
        start.wait(timeout=10)
        return requests.post(url, json={"payment_method": "pm_card_visa"}, timeout=60).status_code

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = [future.result() for future in [pool.submit(update_card) for _ in range(20)]]
    finally:
        server.stop()
    assert 500 not in codes and 200 in codes, codes
    assert set(codes) <= {200, 409}, codes
    run_jobs(shop.app)
    shop.sweep()
    assert shop.statuses()[pledge_id] == "paid"
    second = f"pledge-{pledge_id}-charge-2"
    assert len([r for r in charge_requests(shop) if r["idempotency_key"] == second]) == 1
    assert_charged_exactly_once(shop, attempts={pledge_id: 2})


# Provider errors by class ---------------------------------------------------------------------


def _age(shop) -> None:
    past = utcnow() - timedelta(seconds=1)
    with shop.app.app_context(), db.transaction() as session:
        session.execute(update(Pledge).values(claim_expires_at=past, retry_at=past))


def test_temporary_errors_back_off_and_end_in_action_required_after_a_bound(shop):
    shop.pledge_ok(seats=1)
    shop.pledge_ok(seats=1)
    run_jobs(shop.app)
    shop.fake.fail_next(1000, 503, PAYMENT_INTENTS, should_retry=False)  # no library retries
    tipping = shop.pledge_ok(seats=2)["pledge"]["id"]  # its charge in the request fails
    pledge = _pledge(shop, tipping)
    assert (pledge.status, pledge.provider_failures) == ("charging", 1)
    assert pledge.retry_at > utcnow() + timedelta(seconds=20)  # backing off
    assert shop.charge_job(tipping) == "skipped"  # not due yet
    delays = [claims.retry_delay(n) for n in range(1, claims.MAX_TEMPORARY_FAILURES)]
    assert delays == sorted(delays) and max(delays) == claims.LONGEST_RETRY_DELAY
    for _ in range(claims.MAX_TEMPORARY_FAILURES - 1):
        _age(shop)
        shop.charge_job(tipping)
    pledge = _pledge(shop, tipping)
    assert pledge.status == "action_required" and pledge.grace_expires_at is not None
    tries = [
        r for r in charge_requests(shop) if r["idempotency_key"].startswith(f"pledge-{tipping}")
    ]
    keys = {r["idempotency_key"] for r in tries}
    assert keys == {f"pledge-{tipping}-charge-1"}  # every try with the same key
    with shop.app.app_context():
        kinds = db.session.scalars(
            select(OutboundEmail.kind).where(OutboundEmail.pledge_id == tipping)
        )
        assert "action_required" in list(kinds)
    _age(shop)
    shop.sweep()  # it ended: nothing retries it (the sweep only tries the other two)
    assert len([r for r in charge_requests(shop) if r["idempotency_key"] in keys]) == len(tries)


def test_the_cards_fault_asks_the_fan(shop):
    failing = _confirm_with_failing_card(shop, "pm_card_authenticationRequired")
    pledge = _pledge(shop, failing["pledge"]["id"])
    assert pledge.status == "action_required"
    with shop.app.app_context():
        emails = list(
            db.session.scalars(
                select(OutboundEmail.kind).where(OutboundEmail.pledge_id == pledge.id)
            )
        )
    assert "action_required" in emails


def test_a_permanent_error_drops_the_pledge_once_frees_its_seats_and_tells_the_partner(
    shop, monkeypatch
):
    emitted = []
    emit = transitions.emit
    monkeypatch.setattr(
        transitions, "emit", lambda s, p, kind, data: emitted.append(kind) or emit(s, p, kind, data)
    )
    with shop.app.app_context():
        partner_id = db.session.scalar(select(Partner.id).where(Partner.slug == shop.partner))
    add_endpoint(shop.app, partner_id, "http://127.0.0.1:9/hook")  # the partner listens
    shop.pledge_ok(seats=1)
    victim = shop.pledge_ok(seats=2)["pledge"]["id"]
    with shop.app.app_context(), db.transaction() as session:  # the card was detached
        session.execute(
            update(Pledge).where(Pledge.id == victim).values(payment_method_ref="pm_gone")
        )
    shop.pledge_ok(seats=1)  # tips the trip
    seats_before = shop.trip().seats_pledged
    run_jobs(shop.app)
    pledge = _pledge(shop, victim)
    assert pledge.status == "dropped" and "pm_gone" in pledge.last_payment_error
    assert shop.trip().seats_pledged == seats_before - 2
    with shop.app.app_context():
        audit = db.session.scalar(
            select(AuditLogEntry).where(
                AuditLogEntry.object_id == victim, AuditLogEntry.action == "pledge.dropped"
            )
        )
        assert audit.data["reason"] == "payment failed: resource_missing"
    assert "pledge.dropped" in emitted  # the partner's webhook
    tries = [r for r in charge_requests(shop) if r["params"]["metadata"]["pledge_id"] == victim]
    assert len(tries) == 1  # no retry: it can never succeed
    _age(shop)
    assert shop.sweep()["charges"] == 0


def test_refund_of_a_charge_already_refunded_at_stripe_ends_refunded(shop):
    ids = confirm_with_three_pledges(shop)
    run_jobs(shop.app)
    paid = _pledge(shop, ids[0])
    client = stripe.StripeClient(shop.fake.api_key, base_addresses={"api": shop.fake.url})
    client.v1.refunds.create(params={"payment_intent": paid.payment_intent_ref})  # dashboard
    with shop.app.app_context(), db.transaction() as session:
        trip_outcomes.cancel_trip(session, session.get(Trip, shop.trip_id), actor="test")
    run_jobs(shop.app)
    assert set(shop.statuses().values()) == {"refunded"}
    assert shop.fake.total_refunded() == shop.fake.total_captured() == 4 * UNIT_AMOUNT


def test_a_refund_that_can_never_work_stops_and_is_audited(shop):
    ids = confirm_with_three_pledges(shop)
    run_jobs(shop.app)
    with shop.app.app_context(), db.transaction() as session:
        session.execute(
            update(Pledge).where(Pledge.id == ids[0]).values(payment_intent_ref="pi_gone")
        )
        trip_outcomes.cancel_trip(session, session.get(Trip, shop.trip_id), actor="test")
    run_jobs(shop.app)
    pledge = _pledge(shop, ids[0])
    assert pledge.status == "paid" and pledge.refund_requested_at is None
    with shop.app.app_context():
        actions = list(
            db.session.scalars(
                select(AuditLogEntry.action).where(AuditLogEntry.object_id == ids[0])
            )
        )
    assert "pledge.refund_failed" in actions
    _age(shop)
    assert shop.sweep()["refunds"] == 0
    assert [shop.statuses()[pid] for pid in ids[1:]] == ["refunded", "refunded"]


# The queue is down after a commit ---------------------------------------------------------------


class RedisServer:
    """A redis-server of our own on a free port, to stop and start again."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> RedisServer:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis_client.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis_client.RedisError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def test_queue_down_after_commit_still_answers_201_and_the_sweep_charges(
    database_url, migrated_engine, tmp_path
):
    require("redis", shutil.which("redis-server") is not None, "no redis-server binary")
    redis = RedisServer().start()
    settings = make_settings(database_url, tmp_path / "instance", REDIS_URL=redis.url)
    app = create_app(settings, RATELIMIT_STORAGE_URI="memory://")
    try:
        with app.app_context(), db.transaction() as session:
            partner = make_partner(session, "redis-down")
            trip = make_trip(session, partner, capacity=4, min_riders=2)
            trip_id, stop_id = trip.id, trip.stops[0].id
        client = app.test_client()

        def pledge(email: str):
            body = {"stop_id": stop_id, "seats": 1, "name": "Fan", "email": email}
            body["payment_method"] = "pm_card_visa"
            return client.post(f"/w/redis-down/api/trips/{trip_id}/pledges", json=body)

        first = pledge("first@example.com")
        assert first.status_code == 201
        redis.stop()  # the queue is gone: the next commit cannot enqueue its jobs
        second = pledge("second@example.com")
        assert second.status_code == 201, second.json  # saved means success
        assert second.json["pledge"]["status"] == "paid"  # charged in its own request
        with app.app_context():
            assert db.session.get(Pledge, first.json["pledge"]["id"]).status == "pledged"
        redis.start()  # back; the charge_trip job it never got is lost
        with app.app_context():
            report = tasks.sweep()
            statuses = set(db.session.scalars(select(Pledge.status)))
            charges = db.session.scalar(
                select(func.count()).where(SimulatedPayment.kind == "charge")
            )
        assert report["charges_paid"] == 1 and statuses == {"paid"} and charges == 2
    finally:
        redis.stop()
        app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)
