"""A real worker process killed with SIGKILL in the middle of charging a confirmed trip.

The fake Stripe server runs in this process and answers slowly, so the worker is caught with
charges in flight: some pledges paid, some `charging` (Stripe may or may not have charged them),
some not started. `ridepledge settle` afterwards must leave every pledge paid, with exactly one
succeeded PaymentIntent per pledge at Stripe. Runs on SQLite and PostgreSQL (the worker shares
the test database and the SQLite job queue in the instance folder).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import empty_all_tables, run_jobs
from tests.factories import make_partner, make_trip
from tests.fakes.stripe_server import FakeStripe
from tests.functional.stripe_helpers import (
    close_app,
    running_fake_stripe,
    stripe_app,
    stripe_env,
)
from tests.waiting import wait_for
from widget_server.domain.pledges import planning, recording
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Partner, Pledge
from widget_server.models.types import utcnow

PLEDGES = 40
SEATS = [1 + index % 3 for index in range(PLEDGES)]  # 1, 2 or 3 seats per pledge
UNIT_AMOUNT = 2500
CHARGE_DELAY = 0.2  # seconds the fake Stripe takes per charge while the worker runs
WORKER_THREADS = 4
KILL_AFTER_PAID = 8
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def crash_app(database_url, migrated_engine, tmp_path):
    """A Stripe-backed app and its FakeStripe, served from this process."""
    with running_fake_stripe() as fake:
        app = stripe_app(database_url, tmp_path / "instance", fake)
        yield app, fake
        close_app(app)
        empty_all_tables(migrated_engine)


def confirmed_trip_with_pledges(app) -> list[str]:
    """A trip that confirms with its last pledge (cards saved at the fake); returns pledge ids."""
    provider = app.extensions["ridepledge.payments"]
    ids = []
    with app.app_context():
        with db.transaction() as session:
            partner = make_partner(session, "crash-test")
            trip = make_trip(
                session,
                partner,
                capacity=sum(SEATS),
                min_riders=sum(SEATS),  # the last pledge tips it
                unit_amount=UNIT_AMOUNT,
            )
            partner_id, trip_id, stop_id = partner.id, trip.id, trip.stops[0].id
        for index in range(PLEDGES):
            request = planning.PledgeRequest(
                stop_id=stop_id,
                seats=SEATS[index],
                name=f"Fan {index}",
                email=f"fan{index}@example.com",
                payment_method="pm_card_visa",
            )
            with db.transaction() as session:
                partner = session.get(Partner, partner_id)
                ids.append(recording.create_pledge(session, provider, partner, trip_id, request).id)
    return ids


def subprocess_env(app, fake: FakeStripe) -> dict[str, str]:
    settings = app.config["SETTINGS"]
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("REDIS_", "DATABASE_", "STRIPE_", "PAYMENTS_", "SMTP_"))
    }
    env.update(stripe_env(fake))
    env.update(
        DATABASE_URL=settings.database_url,
        INSTANCE_PATH=str(settings.instance_path),
        SECRET_KEY=settings.secret_key,
        PUBLIC_BASE_URL=settings.public_base_url,
        PYTHONPATH=str(REPO),
    )
    return env


def ridepledge(*args: str, env: dict, log: Path, **popen) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "widget_server.cli", *args],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            **popen,
        )


def statuses(app) -> Counter:
    with app.app_context():
        return Counter(db.session.scalars(select(Pledge.status)))


def pledge_statuses(app) -> dict[str, str]:
    with app.app_context():
        return {row.id: row.status for row in db.session.execute(select(Pledge.id, Pledge.status))}


def test_killed_worker_then_settle_charges_every_pledge_exactly_once(crash_app, tmp_path):
    app, fake = crash_app
    ids = confirmed_trip_with_pledges(app)
    assert statuses(app) == {"pledged": PLEDGES}
    assert fake.payment_intents == {}
    env = subprocess_env(app, fake)
    log = tmp_path / "worker.log"

    fake.delay_next(PLEDGES, CHARGE_DELAY, "/v1/payment_intents")
    worker = ridepledge("worker", "--workers", str(WORKER_THREADS), env=env, log=log)
    try:
        wait_for(
            lambda: len(fake.succeeded_charges()) >= KILL_AFTER_PAID or worker.poll() is not None,
            timeout=20,
            what=f"{KILL_AFTER_PAID} charges by the worker",
        )
        assert worker.poll() is None, log.read_text()
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    fake.wait_idle(timeout=10)  # requests in flight when the worker died still complete

    after_crash = statuses(app)
    charged_by_stripe = len(fake.succeeded_charges())
    assert KILL_AFTER_PAID <= charged_by_stripe < PLEDGES, "kill came too late or too early"
    assert 0 < after_crash["paid"] < PLEDGES
    assert after_crash["charging"] > 0, f"no charge was in flight at the kill: {after_crash}"
    assert sum(after_crash.values()) == PLEDGES
    # Stripe charged more than we recorded: the in-flight charges completed after the kill.
    assert charged_by_stripe >= after_crash["paid"]

    # Before the dead worker's claims expire, nobody else charges those pledges.
    in_flight = {pid for pid, status in pledge_statuses(app).items() if status == "charging"}
    with app.app_context():
        tasks.sweep()
    after_sweep = pledge_statuses(app)
    assert {pid for pid in in_flight if after_sweep[pid] == "charging"} == in_flight
    # Time passes: the claims of the dead worker's `charging` pledges expire.
    with app.app_context(), db.transaction() as session:
        session.execute(
            update(Pledge)
            .where(Pledge.status == "charging")
            .values(claim_expires_at=utcnow() - timedelta(seconds=1))
        )
    settle = ridepledge("settle", env=env, log=log)
    assert settle.wait(timeout=60) == 0, log.read_text()

    assert statuses(app) == {"paid": PLEDGES}, log.read_text()
    with app.app_context():
        pledges = list(db.session.scalars(select(Pledge)))
    succeeded = fake.succeeded_charges()
    assert Counter(pi["metadata"]["pledge_id"] for pi in succeeded) == dict.fromkeys(ids, 1)
    expected_total = sum(pledge.amount for pledge in pledges)
    assert expected_total == sum(SEATS) * UNIT_AMOUNT
    assert fake.total_captured() == expected_total
    for pledge in pledges:
        [intent] = [pi for pi in succeeded if pi["metadata"]["pledge_id"] == pledge.id]
        assert pledge.payment_intent_ref == intent["id"]
        assert intent["metadata"]["idempotency_key"] == f"pledge-{pledge.id}-charge-1"

    # Jobs the dead worker never ran are still queued: running them now changes nothing.
    requests_before = len(fake.requests)
    run_jobs(app)
    assert statuses(app) == {"paid": PLEDGES}
    assert len(fake.succeeded_charges()) == PLEDGES
    assert [r for r in fake.requests[requests_before:] if r["path"].startswith("/v1/payment")] == []


def test_one_of_two_workers_killed_the_other_finishes_and_charges_each_pledge_once(
    crash_app, tmp_path
):
    """Two worker processes share the queue; one dies with charges in flight. The survivor
    charges everything the dead one had not started, stands aside from the dead one's claims
    until they expire, then finishes them (the job the sweep queues) with the same keys."""
    app, fake = crash_app
    ids = confirmed_trip_with_pledges(app)
    env = subprocess_env(app, fake)
    log = tmp_path / "workers.log"

    fake.delay_next(PLEDGES, CHARGE_DELAY, "/v1/payment_intents")
    doomed = ridepledge("worker", "--workers", "2", env=env, log=log)
    survivor = ridepledge("worker", "--workers", "2", env=env, log=log)
    try:
        wait_for(
            lambda: len(fake.succeeded_charges()) >= KILL_AFTER_PAID or doomed.poll() is not None,
            timeout=20,
            what=f"{KILL_AFTER_PAID} charges by the workers",
        )
        assert doomed.poll() is None, log.read_text()
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        # The survivor carries on alone: every pledge the dead worker had not claimed gets paid,
        # and its claimed ones stay `charging` (nobody else talks to Stripe for them yet). A job
        # the dead worker had taken from the queue but not yet claimed died with it: the
        # survivor's minute sweep finds that pledge, so allow a sweep's minute and its charge.
        # Drained means: nothing left to claim, Stripe idle, and no charge of the survivor's
        # still between Stripe's answer and its commit (only the dead worker's two threads can
        # hold claims that nobody finishes).
        wait_for(
            lambda: (
                statuses(app)["pledged"] == 0
                and fake.wait_idle(timeout=1)
                and statuses(app)["charging"] <= 2
            ),
            timeout=120,
            what="the surviving worker to drain the queue",
        )
        after = statuses(app)
        stuck = [pid for pid, status in pledge_statuses(app).items() if status == "charging"]
        assert after["paid"] + len(stuck) == PLEDGES, after
        assert 0 < len(stuck) <= 2, f"the dead worker held {len(stuck)} claims: {after}"

        # Their claims expire; the sweep's job for them reaches the survivor.
        with app.app_context(), db.transaction() as session:
            session.execute(
                update(Pledge)
                .where(Pledge.id.in_(stuck))
                .values(claim_expires_at=utcnow() - timedelta(seconds=1))
            )
        with app.app_context():
            for pledge_id in stuck:
                app.extensions["ridepledge.enqueue"]("charge_pledge", pledge_id)
        wait_for(lambda: statuses(app) == {"paid": PLEDGES}, timeout=30, what="the last charges")
        assert survivor.poll() is None, log.read_text()
    finally:
        for worker in (doomed, survivor):
            if worker.poll() is None:
                worker.terminate()
            worker.wait(timeout=30)
    succeeded = fake.succeeded_charges()
    assert Counter(pi["metadata"]["pledge_id"] for pi in succeeded) == dict.fromkeys(ids, 1)
    with app.app_context():
        assert fake.total_captured() == sum(db.session.scalars(select(Pledge.amount)))
