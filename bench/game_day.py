"""Benchmark 3: a game-day spike. 5,000 fans over 20 trips in 60 s, from a few hundred
addresses (behind the load balancer: X-Forwarded-For), through two app processes and two job
workers as two hosts would run them, on one PostgreSQL and one Redis.

Each fan looks at a trip (the widget's JSON), then pledges 1 or 2 seats; trips have fewer seats
than fans want, so late fans get 409 sold-out, never a 5xx. Trips confirm as they fill, and the
workers charge them meanwhile. Checks afterwards, per trip: seats_pledged equals the seats of
its live pledges and never exceeds the capacity; no 5xx anywhere.

    BENCH_DATABASE_URL=postgresql+psycopg://... BENCH_REDIS_URL=redis://... \\
        .venv/bin/python bench/game_day.py [--fans 5000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from common import (
    database_url,
    free_port,
    machine,
    process,
    production_server,
    redis_url,
    ridepledge,
    seeding_app,
    server_env,
    temp_folder,
    unique_slug,
)
from requests.adapters import HTTPAdapter
from sqlalchemy import func, select
from urllib3.util import Retry

from tests.factories import make_event, make_partner, make_trip
from widget_server.extensions import db
from widget_server.models import Pledge, Trip
from widget_server.models.pledges import LIVE_STATUSES

TRIPS = 20
ADDRESSES = 400


def fan_address(index: int) -> str:
    n = index % ADDRESSES
    return f"198.20.{n // 250}.{n % 250 + 1}"


def one_fan(http, base: str, slug: str, trips, index: int, record) -> None:
    """A fan looks at a trip, then pledges 1 or 2 seats on it."""
    trip_id, stop_id = trips[(index * 7) % len(trips)]
    headers = {"X-Forwarded-For": fan_address(index)}
    pledge = {
        "stop_id": stop_id,
        "seats": 1 + index % 2,
        "name": f"Fan {index}",
        "email": f"fan{index}@gameday.example",
        "payment_method": "pm_card_visa",
    }
    url = f"{base}/w/{slug}/api/trips/{trip_id}"
    for kind, method, path, body in (
        ("view", "GET", "", None),
        ("pledge", "POST", "/pledges", pledge),
    ):
        started = time.perf_counter()
        try:
            status = http.request(
                method, url + path, json=body, headers=headers, timeout=30
            ).status_code
        except requests.RequestException as exc:
            status = f"connection error ({type(exc).__name__})"
        record(kind, status, time.perf_counter() - started)


def run_fans(bases, slug, trips, fans: int, seconds: float, clients: int, deadline: float):
    """Fans arrive evenly over `seconds`; a fan not started by `deadline` (monotonic) is not
    sent (the servers are that far behind). Returns (status counts, latencies by kind, wall,
    fans not sent)."""
    codes: Counter = Counter()
    latencies: dict[str, list[float]] = {"view": [], "pledge": []}
    lock = threading.Lock()
    next_fan = iter(range(fans))
    started = time.monotonic()
    skipped = 0

    def client() -> None:
        nonlocal skipped
        with requests.Session() as http:
            # As a browser does: a GET sent on a kept-alive connection the server had just
            # closed is sent again once (never a POST; never on an HTTP answer, 5xx included).
            http.mount(
                "http://",
                HTTPAdapter(
                    max_retries=Retry(total=1, read=1, connect=1, status=0, allowed_methods={"GET"})
                ),
            )
            while True:
                with lock:
                    index = next(next_fan, None)
                    if index is not None and time.monotonic() > deadline:
                        skipped += 1
                        continue
                if index is None:
                    return
                delay = started + index * seconds / fans - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                one_fan(http, bases[index % len(bases)], slug, trips, index, record)

    def record(kind: str, status, elapsed: float) -> None:
        with lock:
            latencies[kind].append(elapsed)
            codes[(kind, status)] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes, latencies, time.monotonic() - started, skipped


def _empty_queue(app) -> int:
    """Drop the jobs earlier runs left in the bench's Redis queue (pledges posted with no
    worker running): they are only doorbells, the database keeps the work, and the spike's
    workers must not start behind them. Returns how many there were."""
    from widget_server.jobs import make_huey

    huey = make_huey(app)
    left = len(huey)
    huey.flush()
    return left


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fans", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=96, help="load generator threads")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=240,
        help="bound on the whole spike: fans not started by then are not sent (and reported)",
    )
    args = parser.parse_args()
    with temp_folder() as name:
        folder = Path(name)
        if not database_url(folder).startswith("postgresql") or not redis_url():
            print("benchmark 3: skipped (needs BENCH_DATABASE_URL=PostgreSQL and BENCH_REDIS_URL)")
            return 0
        # Seats for about 4 of 5 fans: the last ones meet sold-out trips.
        capacity = int(args.fans * 1.5 * 0.8 / TRIPS)
        with seeding_app(folder) as app:
            with app.app_context(), db.transaction() as session:
                partner = make_partner(session, unique_slug("gameday"))
                event = make_event(session, partner)
                made = [
                    make_trip(
                        session,
                        partner,
                        event=event,
                        capacity=capacity,
                        min_riders=capacity // 2,
                    )
                    for _ in range(TRIPS)
                ]
                trips = [(trip.id, trip.stops[0].id) for trip in made]
                slug = partner.slug
            dropped = _empty_queue(app)
            ports = [free_port(), free_port()]
            env = {"WEB_CONCURRENCY": 2, "WEB_THREADS": 16}
            with (
                production_server(folder, ports[0], **env),
                production_server(folder, ports[1], **env),
                process(
                    ridepledge("worker", "--workers", "8"), server_env(folder), folder / "w1.log"
                ),
                process(
                    ridepledge("worker", "--workers", "8"), server_env(folder), folder / "w2.log"
                ),
            ):
                bases = [f"http://127.0.0.1:{port}" for port in ports]
                codes, latencies, wall, skipped = run_fans(
                    bases,
                    slug,
                    trips,
                    args.fans,
                    args.seconds,
                    args.clients,
                    time.monotonic() + args.max_seconds,
                )
                # Let the workers charge the confirmed trips (bounded wait).
                charging_started = time.monotonic()
                deadline = charging_started + 60
                with app.app_context():
                    while time.monotonic() < deadline:
                        waiting = db.session.scalar(
                            select(func.count())
                            .select_from(Pledge)
                            .join(Trip, Trip.id == Pledge.trip_id)
                            .where(
                                Trip.partner_id == made[0].partner_id,
                                Trip.status == "confirmed",
                                Pledge.status.in_(("pledged", "charging")),
                            )
                        )
                        db.session.rollback()
                        if not waiting:
                            break
                        time.sleep(1)
                charging_wait = time.monotonic() - charging_started
            with app.app_context():
                report = []
                exact = True
                for trip_id, _ in trips:
                    trip = db.session.get(Trip, trip_id)
                    live = db.session.scalar(
                        select(func.coalesce(func.sum(Pledge.seats), 0)).where(
                            Pledge.trip_id == trip_id, Pledge.status.in_(LIVE_STATUSES)
                        )
                    )
                    statuses = Counter(
                        db.session.scalars(select(Pledge.status).where(Pledge.trip_id == trip_id))
                    )
                    ok = trip.seats_pledged == live <= trip.capacity
                    exact = exact and ok
                    report.append((trip.status, trip.seats_pledged, trip.capacity, statuses, ok))
    server_errors = sum(n for (kind, status), n in codes.items() if str(status)[0] in "5c")
    print("benchmark 3: game-day spike, two app processes + two workers, PostgreSQL + Redis")
    print(f"  machine         {machine()}")
    print(
        f"  load            {args.fans} fans over {TRIPS} trips in {args.seconds:.0f} s from"
        f" {ADDRESSES} addresses; finished in {wall:.1f} s"
        + (
            f"; {skipped} fans NOT SENT (past the {args.max_seconds:.0f} s bound)"
            if skipped
            else ""
        )
    )
    sent = args.fans - skipped
    print(
        f"  rates           {sent / wall:.1f} fans/s offered and answered (target"
        f" {args.fans / args.seconds:.1f}); {codes.get(('pledge', 201), 0) / wall:.1f} pledges/s"
    )
    if dropped:
        print(f"  queue           {dropped} jobs left in Redis by earlier runs dropped first")
    print(
        "  answers         "
        + ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(codes.items(), key=str))
    )  # noqa: E501
    for kind, values in latencies.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"  {kind:<15} p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    confirmed = sum(1 for status, *_ in report if status == "confirmed")
    paid = sum(statuses.get("paid", 0) for *_, statuses, _ in report)
    print(
        f"  trips           {confirmed} of {TRIPS} confirmed; {paid} pledges charged by the"
        f" workers ({charging_wait:.0f} s after the spike, bound 60 s)"
    )
    print(
        f"  seats           every trip: seats_pledged == live pledge seats <= capacity:"
        f" {'exact' if exact else 'MISMATCH'}; 5xx or connection errors: {server_errors}"
    )
    return 0 if exact and server_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
