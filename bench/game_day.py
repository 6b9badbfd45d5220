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
from sqlalchemy import func, select

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
        except requests.RequestException:
            status = "connection error"
        record(kind, status, time.perf_counter() - started)


def run_fans(bases, slug, trips, fans: int, seconds: float, clients: int):
    """Fans arrive evenly over `seconds`; returns (status counts, latencies by kind)."""
    codes: Counter = Counter()
    latencies: dict[str, list[float]] = {"view": [], "pledge": []}
    lock = threading.Lock()
    next_fan = iter(range(fans))
    started = time.monotonic()

    def client() -> None:
        with requests.Session() as http:
            while True:
                with lock:
                    index = next(next_fan, None)
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
    return codes, latencies, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fans", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=96, help="load generator threads")
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
            ports = [free_port(), free_port()]
            env = {"WEB_CONCURRENCY": 2, "WEB_THREADS": 16}
            with (
                production_server(folder, ports[0], **env),
                production_server(folder, ports[1], **env),
                process(
                    ridepledge("worker", "--workers", "4"), server_env(folder), folder / "w1.log"
                ),
                process(
                    ridepledge("worker", "--workers", "4"), server_env(folder), folder / "w2.log"
                ),
            ):
                bases = [f"http://127.0.0.1:{port}" for port in ports]
                codes, latencies, wall = run_fans(
                    bases, slug, trips, args.fans, args.seconds, args.clients
                )
                # Let the workers charge the confirmed trips (bounded wait).
                deadline = time.monotonic() + 60
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
    )
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
        f"  trips           {confirmed} of {TRIPS} confirmed; {paid} pledges charged by the workers"
    )
    print(
        f"  seats           every trip: seats_pledged == live pledge seats <= capacity:"
        f" {'exact' if exact else 'MISMATCH'}; 5xx or connection errors: {server_errors}"
    )
    return 0 if exact and server_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
