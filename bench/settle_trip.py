"""Benchmark 4, settling a large trip: charging every pledge of a confirmed 5,000-pledge trip
through the `stripe` provider (the real `stripe` library) against the fake Stripe server over
HTTP, limited like live Stripe to 100 requests/s (429 above it) while charging.

Sets up the pledges through the domain (each saves a card: a Customer and a SetupIntent at the
fake), which confirms the trip, then charges every pledge with K threads, each calling the
`charge_pledge` job in its own app context as the worker does. Prints the setup time, the
charging wall time and charges/s, checks that Stripe shows exactly one succeeded charge per
pledge and the right total, and prints the process's peak memory (the fake runs in it too).

    .venv/bin/python bench/settle_trip.py [--pledges 5000] [--threads 16] [--stripe-rate 100]

Target: within 1.2x of the time the rate limit alone allows (50 s for 5,000 one-request
charges), each pledge charged exactly once.

SQLite in a temporary folder by default; BENCH_DATABASE_URL (e.g. PostgreSQL) to use another.
"""

from __future__ import annotations

import argparse
import os
import queue
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from tests.conftest import make_settings  # noqa: E402
from tests.factories import make_partner, make_trip  # noqa: E402
from tests.fakes.stripe_server import FakeStripe  # noqa: E402
from widget_server import create_app  # noqa: E402
from widget_server.db import make_engine  # noqa: E402
from widget_server.domain import pledging  # noqa: E402
from widget_server.extensions import db  # noqa: E402
from widget_server.ids import new_id  # noqa: E402
from widget_server.jobs import tasks  # noqa: E402
from widget_server.migrate import upgrade  # noqa: E402
from widget_server.models import Partner, Pledge, Trip  # noqa: E402

UNIT_AMOUNT = 3500


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pledges", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=32, help="K charging threads")
    parser.add_argument(
        "--stripe-rate",
        type=int,
        default=100,
        help="requests/s the fake Stripe allows while charging (live Stripe: 100; 0: no limit)",
    )
    return parser.parse_args()


def in_threads(app, count: int, items: list, work) -> list[float]:
    """Run `work(item)` for every item from `count` threads, each in its own app context (as
    huey's worker threads do); returns the time each call took. Re-raises the first error."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for item in items:
        todo.put(item)
    durations: list[float] = []
    errors: list[BaseException] = []
    provider = app.extensions["ridepledge.payments"]

    def worker() -> None:
        try:
            while not errors:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                with app.app_context():
                    work(item)
                durations.append(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 (reported by the main thread)
            errors.append(exc)
        finally:
            provider.close()  # this thread's connections to Stripe

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return durations


def main() -> int:
    args = parse_args()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ridepledge-bench-")))
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
        fake = stack.enter_context(FakeStripe())
        stripe_env = {
            "SECRET_KEY": "bench-secret",
            "PAYMENTS_PROVIDER": "stripe",
            "STRIPE_SECRET_KEY": fake.api_key,
            "STRIPE_API_BASE": fake.url,
        }
        if os.environ.get("BENCH_REDIS_URL"):
            stripe_env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
        # Setting up is not what is measured: no pacing, no limit at the fake meanwhile.
        settings = make_settings(
            database_url, folder / "setup", STRIPE_MAX_REQUESTS_PER_SECOND="0", **stripe_env
        )
        # Charging runs as the worker does, with the default pacing (STRIPE_MAX_REQUESTS_...).
        charging = create_app(make_settings(database_url, folder / "instance", **stripe_env))
        stack.callback(charging.extensions["ridepledge.engine"].dispose)
        engine = make_engine(database_url)
        stack.callback(engine.dispose)
        upgrade(engine)
        app = create_app(settings)
        stack.callback(app.extensions["ridepledge.engine"].dispose)
        provider = app.extensions["ridepledge.payments"]

        with app.app_context(), db.transaction() as session:
            partner = make_partner(session, f"bench-{new_id('x')[2:12].lower()}")
            # One seat per pledge; the last pledge brings the trip to min_riders and confirms it.
            trip = make_trip(
                session,
                partner,
                capacity=args.pledges,
                min_riders=args.pledges,
                unit_amount=UNIT_AMOUNT,
            )
            partner_id, trip_id, stop_id = partner.id, trip.id, trip.stops[0].id

        def pledge(index: int) -> None:
            request = pledging.PledgeRequest(
                stop_id=stop_id,
                seats=1,
                name=f"Bench Fan {index}",
                email=f"fan{index}@bench.example",
                payment_method="pm_card_visa",
            )
            with db.transaction() as session:
                partner = session.get(Partner, partner_id)
                pledging.create_pledge(session, provider, partner, trip_id, request)

        started = time.perf_counter()
        in_threads(app, args.threads, list(range(args.pledges)), pledge)
        setup_wall = time.perf_counter() - started

        with app.app_context():
            trip = db.session.get(Trip, trip_id)
            assert trip.status == "confirmed", trip.status
            of_trip = select(Pledge.id).where(Pledge.trip_id == trip_id)
            pledge_ids = list(db.session.scalars(of_trip))
        requests_before = len(fake.requests)
        fake.requests_per_second = args.stripe_rate or None

        started = time.perf_counter()
        durations = in_threads(charging, args.threads, pledge_ids, tasks.charge_pledge)
        charge_wall = time.perf_counter() - started
        fake.requests_per_second = None

        with app.app_context():
            statuses = Counter(
                db.session.scalars(select(Pledge.status).where(Pledge.trip_id == trip_id))
            )
            expected_total = db.session.scalar(
                select(func.sum(Pledge.amount)).where(Pledge.trip_id == trip_id)
            )
        succeeded = fake.succeeded_charges()
        per_pledge = Counter(pi["metadata"]["pledge_id"] for pi in succeeded)
        captured = fake.total_captured()
        charge_requests = len(fake.requests) - requests_before
        provider.close()

    ok = (
        len(succeeded) == len(pledge_ids) == args.pledges
        and set(per_pledge.values()) == {1}
        and statuses == {"paid": args.pledges}
        and captured == expected_total == args.pledges * UNIT_AMOUNT
    )
    cuts = statistics.quantiles(durations, n=100)
    database = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("settling a confirmed trip with the stripe provider against the fake Stripe")
    print(f"  database        {database}; {args.pledges} pledges; {args.threads} threads")
    print(
        f"  setup           {setup_wall:.2f} s ({args.pledges / setup_wall:.1f} pledges/s;"
        " Customer + SetupIntent each)"
    )
    rate = len(durations) / charge_wall
    print(f"  charging        {charge_wall:.2f} s wall, {rate:.1f} charges/s")
    print(
        f"  per charge      p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms,"
        f" p99 {cuts[98] * 1000:.1f} ms ({charge_requests} requests to Stripe)"
    )
    print(
        f"  check           {len(succeeded)} succeeded charges for {len(per_pledge)} pledges,"
        f" captured {captured} of {expected_total}; statuses {dict(statuses)}:"
        f" {'OK' if ok else 'MISMATCH'}"
    )
    print(f"  peak memory     {maxrss:.0f} MB (maxrss; includes the in-process fake Stripe)")
    if args.stripe_rate:
        floor = charge_requests / args.stripe_rate
        print(
            f"  rate limit      fake Stripe at {args.stripe_rate} req/s:"
            f" {fake.rate_limited} answered 429; the limit alone needs {floor:.1f} s;"
            f" {charge_wall / floor:.2f}x of it"
            f" (target <= 1.2x): {'met' if charge_wall <= 1.2 * floor else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
