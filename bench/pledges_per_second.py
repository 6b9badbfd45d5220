"""Pledges per second through the widget API, over real HTTP.

Serves the app with gunicorn (threaded workers, as `ridepledge serve` does) in a child process,
on a free port, against SQLite in a temporary folder (or BENCH_DATABASE_URL, e.g. PostgreSQL).
N client threads post pledges for one large open trip as fast as the server answers; prints
pledges/s, latency percentiles and checks the trip's seat count against the pledges stored.

    .venv/bin/python bench/pledges_per_second.py [--pledges 2000] [--clients 16]
        [--workers 2] [--threads 8] [--provider simulated|stripe]

Rate limits are switched off in the served app: every client here shares one address.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from tests.conftest import make_settings  # noqa: E402
from tests.factories import make_partner, make_trip  # noqa: E402
from tests.fakes.stripe_server import FakeStripe  # noqa: E402
from widget_server import create_app  # noqa: E402
from widget_server.config import Settings  # noqa: E402
from widget_server.db import make_engine  # noqa: E402
from widget_server.extensions import db  # noqa: E402
from widget_server.ids import new_id  # noqa: E402
from widget_server.migrate import upgrade  # noqa: E402
from widget_server.models import Pledge, Trip  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pledges", type=int, default=2000, help="pledges to post")
    parser.add_argument("--clients", type=int, default=16, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--provider", choices=("simulated", "stripe"), default="simulated")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # child: serve on PORT
    return parser.parse_args()


def serve(port: int, workers: int, threads: int) -> None:
    """The child process: gunicorn with the app built from the environment, no rate limits."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("backlog", 2048)

        def load(self):
            return create_app(Settings.from_env(), RATELIMIT_ENABLED=False)

    Server().run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not come up")


def post_pledges(url: str, stop_id: str, seats: list[int], clients: int):
    """Post one pledge per entry of `seats` from `clients` threads; returns (latencies, codes)."""
    latencies: list[float] = []
    codes: Counter = Counter()
    lock = threading.Lock()
    next_index = iter(range(len(seats)))

    def client() -> None:
        with requests.Session() as http:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                body = {
                    "stop_id": stop_id,
                    "seats": seats[index],
                    "name": f"Bench Fan {index}",
                    "email": f"fan{index}@bench.example",
                    "payment_method": "pm_card_visa",
                }
                started = time.perf_counter()
                response = http.post(url, json=body, timeout=60)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    codes[response.status_code] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, codes


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args.serve, args.workers, args.threads)
        return 0
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ridepledge-bench-")))
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
        env = {"SECRET_KEY": "bench-secret", "PAYMENTS_PROVIDER": args.provider}
        if args.provider == "stripe":
            fake = stack.enter_context(FakeStripe())
            env.update(STRIPE_SECRET_KEY=fake.api_key, STRIPE_API_BASE=fake.url)
        settings = make_settings(database_url, folder / "instance", **env)
        engine = make_engine(database_url)
        stack.callback(engine.dispose)
        upgrade(engine)

        seats = [1 + index % 3 for index in range(args.pledges)]
        app = create_app(settings)
        stack.callback(app.extensions["ridepledge.engine"].dispose)
        with app.app_context(), db.transaction() as session:
            partner = make_partner(session, f"bench-{new_id('x')[2:12].lower()}")
            # One seat more than asked for: the trip stays open (no charging) and never sells out.
            trip = make_trip(
                session, partner, capacity=sum(seats) + 1, min_riders=sum(seats) + 1, stops=3
            )
            trip_id, stop_id, slug = trip.id, trip.stops[0].id, partner.slug

        port = free_port()
        child_env = {
            **os.environ,
            "INSTANCE_PATH": str(settings.instance_path),
            "DATABASE_URL": database_url,
            **env,
            "PYTHONPATH": str(REPO),
        }
        with (folder / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(port)]
                + ["--workers", str(args.workers), "--threads", str(args.threads)],
                env=child_env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        stack.callback(server.wait, 30)
        stack.callback(server.terminate)
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)

        url = f"{base}/w/{slug}/api/trips/{trip_id}/pledges"
        started = time.perf_counter()
        latencies, codes = post_pledges(url, stop_id, seats, args.clients)
        wall = time.perf_counter() - started

        with app.app_context():
            session = db.session
            trip = session.get(Trip, trip_id)
            stored = session.scalar(
                select(func.coalesce(func.sum(Pledge.seats), 0)).where(Pledge.trip_id == trip_id)
            )
            count = session.scalar(select(func.count()).where(Pledge.trip_id == trip_id))

    cuts = statistics.quantiles(latencies, n=100)
    database = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    ok = codes[201] == count == args.pledges and trip.seats_pledged == stored == sum(seats)
    print("pledges per second through the widget API (real HTTP)")
    print(f"  database        {database}; provider {args.provider}")
    print(f"  server          gunicorn, {args.workers} workers x {args.threads} threads")
    print(f"  clients         {args.clients} threads; {args.pledges} pledges of 1-3 seats")
    print(f"  answers         {dict(sorted(codes.items()))}")
    print(f"  wall time       {wall:.2f} s")
    print(f"  throughput      {len(latencies) / wall:.1f} pledges/s")
    print(
        f"  latency         p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    print(
        f"  seat count      trip.seats_pledged={trip.seats_pledged}, sum of pledge seats={stored},"
        f" pledges stored={count}, capacity={trip.capacity}: {'OK' if ok else 'MISMATCH'}"
    )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory     {maxrss:.0f} MB (client process)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
