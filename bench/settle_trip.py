"""Benchmark 4, settling a large trip: charging every pledge of a confirmed 5,000-pledge trip
through the `stripe` provider (the real `stripe` library) against the fake Stripe server over
HTTP, limited like live Stripe to 100 requests/s (429 above it) while charging.

Sets up the pledges through the domain (each saves a card: a Customer and a SetupIntent at the
fake), which confirms the trip, then charges every pledge from P worker processes with K threads
each (as `ridepledge worker` processes on two hosts would: each thread calls the
`charge_pledge` job in its own app context), all paced by the one Stripe schedule in Redis.
Prints the setup time, the charging wall time and charges/s, checks that Stripe shows exactly
one succeeded charge per pledge and the right total, and prints the peak memory.

    .venv/bin/python bench/settle_trip.py [--pledges 5000] [--processes 4] [--threads 12]

Target: within 1.2x of the time the rate limit alone allows (50 s for 5,000 one-request
charges), each pledge charged exactly once.

SQLite in a temporary folder by default; BENCH_DATABASE_URL (e.g. PostgreSQL) to use another.
"""

from __future__ import annotations

import argparse
import multiprocessing
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

from flask import current_app  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from tests.conftest import make_settings  # noqa: E402
from tests.factories import make_partner, make_trip  # noqa: E402
from tests.fakes.stripe_server import FakeStripe  # noqa: E402
from widget_server import create_app  # noqa: E402
from widget_server.db import make_engine  # noqa: E402
from widget_server.domain.pledges import planning, recording  # noqa: E402
from widget_server.extensions import db  # noqa: E402
from widget_server.ids import new_id  # noqa: E402
from widget_server.jobs import tasks  # noqa: E402
from widget_server.migrate import upgrade  # noqa: E402
from widget_server.models import Partner, Pledge, Trip  # noqa: E402

UNIT_AMOUNT = 3500


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pledges", type=int, default=5000)
    # As worker processes on a 2-core host would be run for settling at Stripe's rate: enough
    # charges in flight (rate x time per charge), spread over processes (one GIL each).
    parser.add_argument("--processes", type=int, default=4, help="P charging processes")
    parser.add_argument("--threads", type=int, default=12, help="K charging threads per process")
    parser.add_argument(
        "--setup-threads",
        type=int,
        default=4,
        help="threads per process pledging (all on the one trip, so they queue on its row)",
    )
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


def in_processes(settings, processes: int, threads: int, items: list, work):
    """Run `work(item)` for every item from `processes` forked processes of `threads` threads
    each, every process with its own app (and pool, and Stripe client) built after the fork, as
    workers that are already running; returns (wall time from the start signal to the last
    item, the time each call took). The fake Stripe keeps running in this process, and nothing
    of this process's pools may be in use meanwhile."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    ready = context.Barrier(processes + 1)

    def child(share: list[str]) -> None:
        try:
            app = create_app(settings)
            ready.wait(timeout=120)
            durations = in_threads(app, threads, share, work)
            app.extensions["ridepledge.engine"].dispose()
            results.put(("ok", durations))
        except BaseException as exc:  # noqa: BLE001 (reported by the parent)
            results.put(("error", repr(exc)))
        finally:
            results.close()
            results.join_thread()
            os._exit(0)  # no finalizers of what the fork copied (the parent's sockets)

    children = [
        context.Process(target=child, args=(items[index::processes],)) for index in range(processes)
    ]
    for process in children:
        process.start()
    ready.wait(timeout=120)
    started = time.perf_counter()
    durations: list[float] = []
    for _ in children:
        status, value = results.get(timeout=600)
        if status != "ok":
            raise SystemExit(f"a benchmark process failed: {value}")
        durations += value
    wall = time.perf_counter() - started
    for process in children:
        process.join(timeout=30)
    return wall, durations


def main() -> int:
    args = parse_args()
    if not os.environ.get("BENCH_REDIS_URL"):
        args.processes = 1  # without Redis each process would pace alone: together too fast
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
        # Setting up is not what is measured: no pacing, no limit at the fake meanwhile, and its
        # jobs (emails, the trip's charge_trip) stay in a queue of its own (no Redis), unrun.
        setup_env = {**stripe_env, "STRIPE_MAX_REQUESTS_PER_SECOND": "0"}
        setup_env.pop("REDIS_URL", None)
        settings = make_settings(database_url, folder / "setup", **setup_env)
        # Charging runs as the worker does, with the default pacing (STRIPE_MAX_REQUESTS_...).
        charging = make_settings(database_url, folder / "instance", **stripe_env)
        engine = make_engine(database_url)
        stack.callback(engine.dispose)
        upgrade(engine)
        app = create_app(settings)
        stack.callback(app.extensions["ridepledge.engine"].dispose)

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
            request = planning.PledgeRequest(
                stop_id=stop_id,
                seats=1,
                name=f"Bench Fan {index}",
                email=f"fan{index}@bench.example",
                payment_method="pm_card_visa",
            )
            with db.transaction() as session:
                partner = session.get(Partner, partner_id)
                provider = current_app.extensions["ridepledge.payments"]
                recording.create_pledge(session, provider, partner, trip_id, request)

        # Nothing of this process's pools may be shared with the forked processes.
        app.extensions["ridepledge.engine"].dispose()
        engine.dispose()
        setup_wall, _ = in_processes(
            settings, args.processes, args.setup_threads, list(range(args.pledges)), pledge
        )

        with app.app_context():
            trip = db.session.get(Trip, trip_id)
            assert trip.status == "confirmed", trip.status
            of_trip = select(Pledge.id).where(Pledge.trip_id == trip_id)
            pledge_ids = list(db.session.scalars(of_trip))
        requests_before = len(fake.requests)
        fake.requests_per_second = args.stripe_rate or None
        app.extensions["ridepledge.engine"].dispose()
        charge_wall, durations = in_processes(
            charging, args.processes, args.threads, pledge_ids, tasks.charge_pledge
        )
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

    ok = (
        len(succeeded) == len(pledge_ids) == args.pledges
        and set(per_pledge.values()) == {1}
        and statuses == {"paid": args.pledges}
        and captured == expected_total == args.pledges * UNIT_AMOUNT
    )
    cuts = statistics.quantiles(durations, n=100)
    pacer = "Redis" if os.environ.get("BENCH_REDIS_URL") else "one process (no Redis)"
    database = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    maxrss = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    print("settling a confirmed trip with the stripe provider against the fake Stripe")
    print(
        f"  database        {database}; {args.pledges} pledges; {args.processes} processes x"
        f" {args.threads} threads, paced together through {pacer}"
    )
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
    print(
        f"  peak memory     {maxrss:.0f} MB (the largest of this process, with the fake,"
        " and the charging ones)"
    )
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
