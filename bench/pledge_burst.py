"""Benchmark 2: pledge creation with 200 concurrent clients through `ridepledge serve`.

Two runs at one large open trip, each for a fixed time, from 200 connections posting one-seat
pledges (each a new fan, 1,000 forwarded addresses, rate limits on):

- **burst**: every connection posts its next pledge as soon as it has the answer, so the server
  is offered as many as it can take: this gives the most pledges per second. Its latency is
  queueing: 200 waiting clients at X pledges/s wait 200 / X seconds on average (Little's law),
  so with 200 clients and no pause, p99 < 250 ms would need more than 800 pledges/s.
- **paced**: 200 fans who each pause before pledging (`--think-ms`, on average 750 ms,
  uniformly 0 to twice that), which offers about 250 pledges/s when answers are quick: the
  latency a fan sees while the server takes the target rate, if it can.

Then the database is checked: the trip's seat count equals the pledges stored equals the 201s
answered (give or take the pledges in flight at wrk's deadline).

    .venv/bin/python bench/pledge_burst.py [--seconds 10] [--connections 200] [--think-ms 750]

Targets: >= 250 pledges/s, p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common import (
    REPO,
    WRK,
    free_port,
    machine,
    parse_wrk,
    production_server,
    seeding_app,
    temp_folder,
    unique_slug,
)
from sqlalchemy import func, select

from tests.factories import make_partner, make_trip
from widget_server.extensions import db
from widget_server.models import Pledge, Trip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--think-ms", type=int, default=750)
    args = parser.parse_args()
    with temp_folder() as name:
        folder = Path(name)
        with seeding_app(folder) as app:
            with app.app_context(), db.transaction() as session:
                partner = make_partner(session, unique_slug())
                # Large enough never to fill or confirm in the run: no charging, no sell-out.
                trip = make_trip(session, partner, capacity=100_000, min_riders=100_000)
                slug, trip_id, stop_id = partner.slug, trip.id, trip.stops[0].id
            port = free_port()
            with production_server(
                folder, port, WEB_CONCURRENCY=args.workers, WEB_THREADS=args.threads
            ):
                url = f"http://127.0.0.1:{port}/w/{slug}/api/trips/{trip_id}/pledges"
                runs = {"burst": run_wrk(url, stop_id, f"{slug}-burst", args, 0)}
                wait_until_answered(app, trip_id)  # the burst's last pledges, still in flight
                runs["paced"] = run_wrk(url, stop_id, f"{slug}-paced", args, args.think_ms)
            stored = stored_pledges(app, trip_id)
            with app.app_context():
                trip = db.session.get(Trip, trip_id)
                seats = db.session.scalar(
                    select(func.coalesce(func.sum(Pledge.seats), 0)).where(
                        Pledge.trip_id == trip_id
                    )
                )
    answered = sum(f["total"] - f["non_2xx"] for f in runs.values())
    # wrk stops counting at the deadline; the requests then in flight still complete, so the
    # database may hold up to one pledge per connection and run more than wrk saw answered.
    in_flight = args.connections * len(runs)
    exact = trip.seats_pledged == seats == stored and answered <= stored <= answered + in_flight
    print("benchmark 2: pledge creation, 200 concurrent clients")
    print(f"  machine         {machine()}")
    print(
        f"  server          ridepledge serve, {args.workers} workers x {args.threads} threads;"
        f" wrk -t2 -c{args.connections} -d{args.seconds}s"
    )
    for name, figures in runs.items():
        created = figures["total"] - figures["non_2xx"]
        pause = f"pause {args.think_ms} ms on average" if name == "paced" else "no pause"
        print(
            f"  pledges {name:<7} {created / args.seconds:6.1f}/s ({pause}), p50"
            f" {figures['p50']:.0f} ms, p99 {figures['p99']:.0f} ms; {created} created,"
            f" {figures['non_2xx']} refused, {figures['socket_errors']} socket errors"
        )
    print(
        f"  seats           trip.seats_pledged={trip.seats_pledged}, sum of stored pledge seats"
        f"={seats}, pledges stored={stored}, 201s seen by wrk={answered}: "
        f"{'exact' if exact else 'MISMATCH'}"
    )
    most = max((f["total"] - f["non_2xx"]) / args.seconds for f in runs.values())
    paced = runs["paced"]
    paced_rate = (paced["total"] - paced["non_2xx"]) / args.seconds
    print(
        f"  targets         >= 250/s: {'met' if most >= 250 else 'MISSED'} ({most:.0f}/s at"
        f" most); p99 < 250 ms at 250/s: "
        f"{'met' if paced_rate >= 250 and paced['p99'] < 250 else 'MISSED'}"
        f" (paced: {paced_rate:.0f}/s, p99 {paced['p99']:.0f} ms)"
    )
    return 0 if exact and not any(f["non_2xx"] for f in runs.values()) else 1


def stored_pledges(app, trip_id: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Pledge).where(Pledge.trip_id == trip_id)
        )


def wait_until_answered(app, trip_id: str, bound: float = 30) -> None:
    """Until the count of stored pledges stops growing for a second (at most `bound` s)."""
    deadline = time.monotonic() + bound
    count = stored_pledges(app, trip_id)
    while time.monotonic() < deadline:
        time.sleep(1)
        count, before = stored_pledges(app, trip_id), count
        if count == before:
            return


def run_wrk(url: str, stop_id: str, run: str, args, think_ms: int) -> dict:
    import subprocess

    env = {**os.environ, "BENCH_STOP_ID": stop_id, "BENCH_RUN": run}
    env["BENCH_THINK_MS"] = str(think_ms)
    command = [WRK, "-t2", f"-c{args.connections}", f"-d{args.seconds}s"]
    command += ["--latency", "--timeout", "10s", "-s", str(REPO / "bench/pledge.lua"), url]
    output = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=args.seconds + 60, check=True
    ).stdout
    return parse_wrk(output)


if __name__ == "__main__":
    sys.exit(main())
