"""Benchmark 2: pledge creation with 200 concurrent clients through `ridepledge serve`.

wrk keeps 200 connections posting one-seat pledges (each a new fan, 1,000 forwarded addresses,
rate limits on) at one large open trip for a fixed time; then the database is checked: the
trip's seat count equals the pledges stored equals the 201s answered.

    .venv/bin/python bench/pledge_burst.py [--seconds 10] [--connections 200]

Targets: >= 250 pledges/s, p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
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
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
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
                env = {**os.environ, "BENCH_STOP_ID": stop_id, "BENCH_RUN": slug}
                command = [WRK, "-t2", f"-c{args.connections}", f"-d{args.seconds}s"]
                command += ["--latency", "--timeout", "10s", "-s", str(REPO / "bench/pledge.lua")]
                output = subprocess.run(
                    [*command, url],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=args.seconds + 60,
                    check=True,
                ).stdout
            figures = parse_wrk(output)
            with app.app_context():
                trip = db.session.get(Trip, trip_id)
                stored = db.session.scalar(
                    select(func.count()).select_from(Pledge).where(Pledge.trip_id == trip_id)
                )
                seats = db.session.scalar(
                    select(func.coalesce(func.sum(Pledge.seats), 0)).where(
                        Pledge.trip_id == trip_id
                    )
                )
    answered = figures["total"] - figures["non_2xx"]
    # wrk stops counting at the deadline; the requests then in flight still complete, so the
    # database may hold up to one pledge per connection more than wrk saw answered.
    exact = (
        trip.seats_pledged == seats == stored and answered <= stored <= answered + args.connections
    )
    created = answered
    rate = created / args.seconds
    print("benchmark 2: pledge creation, 200 concurrent clients")
    print(f"  machine         {machine()}")
    print(
        f"  server          ridepledge serve, {args.workers} workers x {args.threads} threads;"
        f" wrk -t2 -c{args.connections} -d{args.seconds}s"
    )
    print(
        f"  pledges         {created} created ({rate:.1f}/s), {figures['non_2xx']} refused,"
        f" {figures['socket_errors']} socket errors"
    )
    print(f"  latency         p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms")
    print(
        f"  seats           trip.seats_pledged={trip.seats_pledged}, sum of stored pledge seats"
        f"={seats}, pledges stored={stored}, 201s seen by wrk={answered}: "
        f"{'exact' if exact else 'MISMATCH'}"
    )
    print(
        f"  targets         >= 250/s: {'met' if rate >= 250 else 'MISSED'};"
        f" p99 < 250 ms: {'met' if figures['p99'] < 250 else 'MISSED'}"
    )
    return 0 if exact and figures["non_2xx"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
